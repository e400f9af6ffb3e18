//go:build race

package sandbox

// LimitsAddressSpace reports whether the init applies Limits.AddressSpace. A binary built
// with -race (the tests' own, standing in for jobgate) cannot: ThreadSanitizer maps memory
// at any time and would die under RLIMIT_AS, which the init must take on itself (see
// start). jobgate itself is never built with -race.
const LimitsAddressSpace = false
