// Internal spelling of the public error header, so layer code includes "vmm/sys/error.hpp" like
// every other mechanism header. The definitions live in include/minivmm/error.hpp.
#pragma once

#include <minivmm/error.hpp>
