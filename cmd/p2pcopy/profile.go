package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
)

// Profiling the built binary, for speed work on the per-packet path (issue 11): with
// P2PCOPY_CPUPROFILE=FILE the process writes a CPU profile of its whole run to FILE, with
// P2PCOPY_MEMPROFILE=FILE an allocation profile (`go tool pprof -sample_index=alloc_space` shows
// who allocates per packet) when it ends. Both are read only here, in the command: the libraries
// know nothing of them. Read them with `go tool pprof bin/p2pcopy FILE`.
const (
	cpuProfileEnv = "P2PCOPY_CPUPROFILE"
	memProfileEnv = "P2PCOPY_MEMPROFILE"
)

// startProfiles starts what the environment asks for and returns the function that finishes
// the profiles; problems are reported on stderr and never stop the copy.
func startProfiles(getenv func(string) string, stderr io.Writer) (stop func()) {
	var stops []func()
	if path := getenv(cpuProfileEnv); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintf(stderr, "p2pcopy: %s: %v\n", cpuProfileEnv, err)
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := getenv(memProfileEnv); path != "" {
		stops = append(stops, func() {
			f, err := os.Create(path)
			if err == nil {
				runtime.GC() // the profile's in-use figures are as of the last GC
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				fmt.Fprintf(stderr, "p2pcopy: %s: %v\n", memProfileEnv, err)
			}
		})
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}
