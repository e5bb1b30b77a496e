//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Screen sizes the screenshots are taken at: a small phone (the narrowest the page promises to
// work at, issue 13) and a common laptop.
const (
	phoneWidth, phoneHeight     = 360, 740
	desktopWidth, desktopHeight = 1280, 800
)

// artifactDir is where tests leave files for a person to look at: $P2PCOPY_ARTIFACTS, or
// test-artifacts/ at the top of the repository (ignored by git).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("P2PCOPY_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "test-artifacts")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screens saves the page as it is now at phone and desktop sizes, as
// <artifacts>/<test>-<what>-<browser>-{phone,desktop}.png, and checks that at the phone's width
// nothing is wider than the screen (no sideways scrolling).
func screens(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	browser := "chromium"
	if firefoxFrom(ctx) != nil {
		browser = "firefox"
	}
	base := filepath.Join(artifactDir(t), strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+what+"-"+browser)
	for _, s := range []struct {
		name string
		w, h int
	}{{"phone", phoneWidth, phoneHeight}, {"desktop", desktopWidth, desktopHeight}} {
		path := base + "-" + s.name + ".png"
		if ff := firefoxFrom(ctx); ff != nil {
			ffDo(t, ctx, ffStep{"viewport", map[string]any{"width": s.w, "height": s.h}})
		} else {
			opts := []chromedp.EmulateViewportOption{}
			if s.name == "phone" {
				opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
			}
			do(t, ctx, chromedp.EmulateViewport(int64(s.w), int64(s.h), opts...))
		}
		if s.name == "phone" {
			// Against the screen's width, not innerWidth: a mobile Chromium zooms out to fit a
			// page that is too wide, and innerWidth grows with it.
			if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > s.w {
				t.Errorf("%s at %d px wide: the page is %d px wide; its widest parts: %s", browser, s.w, w,
					eval[string](t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll('body *')).filter((e) => e.getBoundingClientRect().right > %d).slice(0, 5).map((e) => e.tagName + (e.id ? '#' + e.id : '') + ' ' + Math.round(e.getBoundingClientRect().right)).join(', ')`, s.w)))
			}
		}
		if ff := firefoxFrom(ctx); ff != nil {
			ffDo(t, ctx, ffStep{"screenshot", map[string]any{"path": path}})
		} else {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("screenshot: %s", path)
	}
}
