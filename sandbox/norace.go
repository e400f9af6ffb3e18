//go:build !race

package sandbox

// LimitsAddressSpace reports whether the init applies Limits.AddressSpace (see race.go).
const LimitsAddressSpace = true
