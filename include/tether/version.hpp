#pragma once

/// tether's version: major.minor.patch, also as one comparable number.
#define TETHER_VERSION_MAJOR 0
#define TETHER_VERSION_MINOR 1
#define TETHER_VERSION_PATCH 0
#define TETHER_VERSION                                                                             \
    (TETHER_VERSION_MAJOR * 10000 + TETHER_VERSION_MINOR * 100 + TETHER_VERSION_PATCH)
#define TETHER_VERSION_STRING "0.1.0"

/// The wire protocol version this build speaks (see docs/protocol.md).
#define TETHER_PROTOCOL_VERSION 1
