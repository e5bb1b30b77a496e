package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Set at link time by a release build, e.g.
//
//	go build -ldflags "-X main.buildVersion=v0.3.0 -X main.buildCommit=$(git rev-parse --short HEAD)" ./cmd/p2pcopy
//
// Left empty, the version is the module's when built by `go install …@vX.Y.Z` (or from a tagged
// checkout), else the constant version; the commit and whether the tree had local changes come
// from what the go command recorded about the checkout (runtime/debug.ReadBuildInfo).
var (
	buildVersion string
	buildCommit  string
)

// versionInfo is what `p2pcopy version` prints.
type versionInfo struct {
	Version string
	Commit  string // short revision, "" when unknown
	Dirty   bool   // built from a checkout with uncommitted changes
	Go      string
	OS      string
	Arch    string
}

// pseudoVersion matches the versions the go command makes up for an untagged commit
// (v0.0.0-20251202125900-7e03174abcde): the commit says more, and says it shorter.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}`)

// readVersion combines the link-time variables with the build information bi (nil if none).
func readVersion(ldVersion, ldCommit string, bi *debug.BuildInfo) versionInfo {
	v := versionInfo{Version: version, Commit: ldCommit, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi != nil {
		if mv, _, _ := strings.Cut(bi.Main.Version, "+"); mv != "" && mv != "(devel)" && !pseudoVersion.MatchString(mv) {
			v.Version = mv
		}
		if ldCommit == "" {
			for _, s := range bi.Settings {
				switch s.Key {
				case "vcs.revision":
					v.Commit = s.Value
				case "vcs.modified":
					v.Dirty = s.Value == "true"
				}
			}
			if len(v.Commit) > 7 {
				v.Commit = v.Commit[:7]
			}
		}
	}
	if ldVersion != "" {
		v.Version = ldVersion
	}
	return v
}

// String is the line `p2pcopy version` prints after "p2pcopy ":
// "v0.3.0 (commit 7e03174, go1.26.8, linux/amd64)".
func (v versionInfo) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (", v.Version)
	if v.Commit != "" {
		fmt.Fprintf(&b, "commit %s", v.Commit)
		if v.Dirty {
			b.WriteString("-dirty")
		}
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "%s, %s/%s)", v.Go, v.OS, v.Arch)
	return b.String()
}

func currentVersion() versionInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return readVersion(buildVersion, buildCommit, bi)
}

// addVersion adds `p2pcopy version` and makes `p2pcopy --version` print the same details.
func addVersion(root *cobra.Command, env *Env, g *globals) {
	v := currentVersion()
	root.Version = v.String()
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, Go version and platform of this p2pcopy",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			if g.json {
				ev := map[string]any{"event": "version", "version": v.Version, "go": v.Go, "os": v.OS, "arch": v.Arch}
				if v.Commit != "" {
					ev["commit"], ev["dirty"] = v.Commit, v.Dirty
				}
				writeJSON(env.Stderr, ev)
				return nil
			}
			fmt.Fprintln(env.Stderr, "p2pcopy "+v.String())
			return nil
		},
	})
}
