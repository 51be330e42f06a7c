package login

import (
	"runtime/debug"
	"testing"
	"time"
)

// The User-Agent names the symauth module's version wherever the binary
// records it: as the main module, as a dependency, through a replace.
func TestUserAgent(t *testing.T) {
	dep := func(version string, replace *debug.Module) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Path: "example.com/bot"},
			Deps: []*debug.Module{{Path: "example.com/other", Version: "v9.9.9"}, {Path: modulePath, Version: version, Replace: replace}}}
	}
	for _, tc := range []struct {
		info *debug.BuildInfo
		ok   bool
		want string
	}{
		{nil, false, "symauth/devel (+Go)"},
		{&debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "(devel)"}}, true, "symauth/devel (+Go)"},
		{&debug.BuildInfo{Main: debug.Module{Path: modulePath, Version: "v0.4.0"}}, true, "symauth/v0.4.0 (+Go)"},
		{dep("v0.5.1", nil), true, "symauth/v0.5.1 (+Go)"},
		{dep("v0.5.1", &debug.Module{Path: "../symauth"}), true, "symauth/devel (+Go)"},
		{dep("v0.5.1", &debug.Module{Path: "example.com/fork", Version: "v0.5.2"}), true, "symauth/v0.5.2 (+Go)"},
		{&debug.BuildInfo{Main: debug.Module{Path: "example.com/bot"}}, true, "symauth/devel (+Go)"},
	} {
		if got := userAgent(tc.info, tc.ok); got != tc.want {
			t.Errorf("%+v: %q; want %q", tc.info, got, tc.want)
		}
	}
}

func TestMillis(t *testing.T) {
	if got := Millis(1500 * time.Microsecond); got != 1.5 {
		t.Fatalf("%v", got)
	}
}
