package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// runCLI runs the command line in this process and returns its exit code, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr strings.Builder
	env := &Env{
		Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr, Getenv: func(string) string { return "" },
		OpenTTY:     func() (*os.File, error) { return nil, errors.New("no terminal") },
		Interrupted: func() bool { return false },
	}
	code := Main(context.Background(), env, args)
	return code, stdout.String(), stderr.String()
}

// platform is the end of every version line: "go1.26.8, linux/amd64)".
var platform = regexp.QuoteMeta(runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")")

func TestVersionCommand(t *testing.T) {
	code, stdout, stderr := runCLI(t, "version")
	want := regexp.MustCompile(`^p2pcopy \S+ \((commit [0-9a-f]+(-dirty)?, )?` + platform + "\n$")
	if code != 0 || stdout != "" || !want.MatchString(stderr) {
		t.Fatalf("p2pcopy version: exit %d, stdout %q, stderr %q; want exit 0 and a line matching %s", code, stdout, stderr, want)
	}
	v := strings.TrimSuffix(strings.TrimPrefix(stderr, "p2pcopy "), "\n")

	// --version prints the same details, in cobra's words.
	code, _, stderr = runCLI(t, "--version")
	if code != 0 || stderr != "p2pcopy version "+v+"\n" {
		t.Errorf("p2pcopy --version: exit %d, stderr %q; want %q", code, stderr, "p2pcopy version "+v+"\n")
	}

	code, _, stderr = runCLI(t, "version", "--json")
	var ev map[string]any
	if err := json.Unmarshal([]byte(stderr), &ev); code != 0 || err != nil {
		t.Fatalf("p2pcopy version --json: exit %d, %v: %q", code, err, stderr)
	}
	if ev["event"] != "version" || !strings.HasPrefix(v, ev["version"].(string)+" (") || ev["go"] != runtime.Version() ||
		ev["os"] != runtime.GOOS || ev["arch"] != runtime.GOARCH {
		t.Errorf("p2pcopy version --json: %q", stderr)
	}

	if code, _, stderr = runCLI(t, "version", "extra"); code != exitUsage {
		t.Errorf("p2pcopy version extra: exit %d (%q), want %d", code, stderr, exitUsage)
	}
}

func TestReadVersion(t *testing.T) {
	tail := ", " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"
	checkout := func(mainVersion string, settings ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{Main: debug.Module{Path: "github.com/p2pcopy/p2pcopy", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return bi
	}
	rev := "7e03174a1b2c3d4e5f60718293a4b5c6d7e8f901"
	for _, c := range []struct {
		name                string
		ldVersion, ldCommit string
		bi                  *debug.BuildInfo
		want                string
	}{
		{"no build info", "", "", nil, version + " (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
		{"go build in a clean checkout", "", "", checkout("(devel)", "vcs.revision", rev, "vcs.modified", "false"), version + " (commit 7e03174" + tail},
		{"local changes", "", "", checkout("(devel)", "vcs.revision", rev, "vcs.modified", "true"), version + " (commit 7e03174-dirty" + tail},
		{"untagged commit: the pseudo-version says less than the commit", "", "",
			checkout("v0.1.1-0.20251202125900-7e03174a1b2c+dirty", "vcs.revision", rev, "vcs.modified", "true"), version + " (commit 7e03174-dirty" + tail},
		{"go install @v0.3.0", "", "", checkout("v0.3.0"), "v0.3.0 (" + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")"},
		{"tagged checkout", "", "", checkout("v0.3.0+dirty", "vcs.revision", rev, "vcs.modified", "true"), "v0.3.0 (commit 7e03174-dirty" + tail},
		{"ldflags win", "v0.4.0-rc1", "abcdef1", checkout("v0.3.0", "vcs.revision", rev, "vcs.modified", "true"), "v0.4.0-rc1 (commit abcdef1" + tail},
		{"ldflags version only", "v0.4.0", "", checkout("(devel)", "vcs.revision", rev), "v0.4.0 (commit 7e03174" + tail},
	} {
		if got := readVersion(c.ldVersion, c.ldCommit, c.bi).String(); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

// TestVersionLdflags builds the binary as a release would: the -X names in version.go's comment
// must be the variables' real names, or the linker ignores them without a word.
func TestVersionLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; not in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "p2pcopy")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.buildVersion=v9.8.7 -X main.buildCommit=0123abc", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if want := "p2pcopy v9.8.7 (commit 0123abc, " + runtime.Version() + ", " + runtime.GOOS + "/" + runtime.GOARCH + ")\n"; err != nil || string(out) != want {
		t.Fatalf("p2pcopy version: %v, %q, want %q", err, out, want)
	}
}
