//go:build race

package containers

const raceEnabled = true
