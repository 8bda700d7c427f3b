//go:build !(linux || darwin || freebsd)

package engine

// freeBytes cannot read free space on this platform.
func freeBytes(string) (uint64, bool) { return 0, false }
