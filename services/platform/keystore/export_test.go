package keystore

import "time"

// SetQuiet shortens the listener's quiet spell before a ping, for a test to go through
// many of them; it returns the function that restores it.
func SetQuiet(d time.Duration) func() {
	old := quiet
	quiet = d
	return func() { quiet = old }
}
