/* MINIVMM_API: marks the functions and classes of minivmm's public API (C and C++). libminivmm
 * is built with hidden visibility, so everything without this mark stays internal to the shared
 * library; static users see no difference. Usable from C and C++. */
#pragma once

#if defined(__GNUC__) || defined(__clang__)
#define MINIVMM_API __attribute__((visibility("default")))
#else
#define MINIVMM_API
#endif
