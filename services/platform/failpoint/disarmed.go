//go:build !failpoints

package failpoint

// Compiled reports whether this binary was built with BuildTag.
const Compiled = false

// Hit does nothing: this binary was built without BuildTag, and CONSENTRY_FAILPOINTS is
// not even read.
func Hit(string) {}
