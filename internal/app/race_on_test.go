//go:build race

package app_test

// raceDetector tells whether the tests run with the race detector, which
// slows every request down several times.
const raceDetector = true
