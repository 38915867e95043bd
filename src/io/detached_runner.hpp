#pragma once

// Runs completions that have nowhere else to run (there is no pool, or its io threads are
// gone) on a short-lived thread that exits as soon as nothing is left to run. Unlike Asio's
// system_executor, it does not keep threads for the rest of the process, so an application
// that shut its pools down is back to the threads it started with.

#include <boost/asio/any_completion_handler.hpp>

namespace tether::detail {

using detached_task = boost::asio::any_completion_handler<void()>;

/// Queues `task` to run on the detached runner's thread (started on demand). Never inline.
void run_detached(detached_task task);

} // namespace tether::detail
