#pragma once

/// Umbrella header: everything a user of tether needs.
#include <tether/config.hpp>
#include <tether/error.hpp>
#include <tether/lease.hpp>
#include <tether/log.hpp>
#include <tether/metrics.hpp>
#include <tether/observer.hpp>
#include <tether/pool.hpp>
#include <tether/pool_builder.hpp>
#include <tether/stats.hpp>
#include <tether/tls.hpp>
#include <tether/version.hpp>
#include <tether/with_diagnostics.hpp>
