//go:build race

package main

// raceEnabled makes TestSoakShort build mantrid with -race too.
const raceEnabled = true
