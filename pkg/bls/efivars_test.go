package bls

import (
	"strings"
	"testing"
)

// TestReadMenuTimeout follows systemd-boot's config_load_defaults and
// efivar_get_timeout: loader.conf, then LoaderConfigTimeout, then
// LoaderConfigTimeoutOneShot (which forces the menu); a variable that does
// not parse is ignored.
func TestReadMenuTimeout(t *testing.T) {
	conf := &LoaderConf{Path: "/esp/loader/loader.conf", Timeout: Timeout{Kind: TimeoutSeconds, Seconds: 3}}
	cases := []struct {
		name    string
		conf    *LoaderConf
		vars    MapVars
		want    Timeout
		source  string
		oneShot bool
		err     string
	}{
		{"nothing set", nil, MapVars{}, Timeout{}, "", false, ""},
		{"loader.conf", conf, MapVars{}, Timeout{Kind: TimeoutSeconds, Seconds: 3}, "/esp/loader/loader.conf", false, ""},
		{"LoaderConfigTimeout replaces loader.conf", conf, MapVars{"LoaderConfigTimeout": "7"}, Timeout{Kind: TimeoutSeconds, Seconds: 7}, "LoaderConfigTimeout", false, ""},
		{"bootctl's number for menu-force", conf, MapVars{"LoaderConfigTimeout": "4294967295"}, Timeout{Kind: TimeoutMenuForce}, "LoaderConfigTimeout", false, ""},
		{"a larger number is menu-force", conf, MapVars{"LoaderConfigTimeout": "99999999999"}, Timeout{Kind: TimeoutMenuForce}, "LoaderConfigTimeout", false, ""},
		{"0 is menu-hidden", conf, MapVars{"LoaderConfigTimeout": "0"}, Timeout{Kind: TimeoutSeconds}, "LoaderConfigTimeout", false, ""},
		{"menu-hidden word", conf, MapVars{"LoaderConfigTimeout": "menu-hidden"}, Timeout{Kind: TimeoutMenuHidden}, "LoaderConfigTimeout", false, ""},
		{"menu-disabled word", nil, MapVars{"LoaderConfigTimeout": "menu-disabled"}, Timeout{Kind: TimeoutMenuDisabled}, "LoaderConfigTimeout", false, ""},
		{"one-shot replaces both", conf, MapVars{"LoaderConfigTimeout": "7", "LoaderConfigTimeoutOneShot": "5"}, Timeout{Kind: TimeoutSeconds, Seconds: 5}, "LoaderConfigTimeoutOneShot", true, ""},
		{"one-shot menu-force", nil, MapVars{"LoaderConfigTimeoutOneShot": "menu-force"}, Timeout{Kind: TimeoutMenuForce}, "LoaderConfigTimeoutOneShot", true, ""},
		{"bad variable ignored", conf, MapVars{"LoaderConfigTimeout": "5s"}, Timeout{Kind: TimeoutSeconds, Seconds: 3}, "/esp/loader/loader.conf", false, "LoaderConfigTimeout"},
		{"bad one-shot ignored, not consumed", conf, MapVars{"LoaderConfigTimeoutOneShot": "-1"}, Timeout{Kind: TimeoutSeconds, Seconds: 3}, "/esp/loader/loader.conf", false, "LoaderConfigTimeoutOneShot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mt, err := ReadMenuTimeout(c.conf, c.vars)
			if mt.Timeout != c.want || mt.Source != c.source || mt.OneShot != c.oneShot {
				t.Errorf("got %+v, want %v from %q one-shot %v", mt, c.want, c.source, c.oneShot)
			}
			if (err != nil) != (c.err != "") || err != nil && !strings.Contains(err.Error(), c.err) {
				t.Errorf("error %v, want one naming %q", err, c.err)
			}
		})
	}
}

// TestLoaderConfTimeoutMenuForceNumber: loader.conf's 4294967295 is
// TIMEOUT_MENU_FORCE (config_defaults_load_from_file), a larger number an
// error.
func TestLoaderConfTimeoutMenuForceNumber(t *testing.T) {
	if c := ParseLoaderConf("l", []byte("timeout 4294967295\n")); c.Timeout.Kind != TimeoutMenuForce {
		t.Errorf("4294967295: %+v", c.Timeout)
	}
	if c := ParseLoaderConf("l", []byte("timeout 4294967296\n")); c.Timeout.Kind != TimeoutUnset || len(c.Warnings) != 1 {
		t.Errorf("4294967296: %+v %q", c.Timeout, c.Warnings)
	}
}

// TestPickDefaultVars follows config_load_defaults and
// config_select_default_entry: what was read, lower-cased; which entry
// LoaderEntryDefault chose (idx_default_efivar); LoaderEntryOneShot noted
// as read even when it matches nothing.
func TestPickDefaultVars(t *testing.T) {
	entries := func() []*Entry {
		return []*Entry{{ID: "b.conf", Status: StatusOK, TriesLeft: -1}, {ID: "a.conf", Status: StatusOK, TriesLeft: -1}}
	}
	cases := []struct {
		name     string
		loader   string
		vars     MapVars
		def      string
		source   string
		varEntry int
		check    func(LoaderVars) bool
	}{
		{"one-shot that matches nothing is still read", "", MapVars{"LoaderEntryOneShot": "X.conf"}, "b.conf", "first entry", -1,
			func(v LoaderVars) bool { return v.OneShotSet && v.OneShot == "x.conf" }},
		{"LoaderEntryDefault chose", "", MapVars{"LoaderEntryDefault": "A.CONF"}, "a.conf", "LoaderEntryDefault", 1,
			func(v LoaderVars) bool { return v.DefaultSet && v.Default == "a.conf" && !v.UseSavedVar }},
		{"LoaderEntryDefault @saved", "", MapVars{"LoaderEntryDefault": "@SAVED", "LoaderEntryLastBooted": "a.conf"}, "a.conf", "LoaderEntryLastBooted", 1,
			func(v LoaderVars) bool { return v.UseSavedVar && v.LastBooted == "a.conf" }},
		{"loader.conf @saved is not the variable's choice", "default @saved\n", MapVars{"LoaderEntryLastBooted": "a.conf"}, "a.conf", "LoaderEntryLastBooted", -1,
			func(v LoaderVars) bool { return v.UseSaved && !v.UseSavedVar }},
		{"@saved with a non-ASCII s is no @saved", "", MapVars{"LoaderEntryDefault": "@ſaved", "LoaderEntryLastBooted": "a.conf"}, "b.conf", "first entry", -1,
			func(v LoaderVars) bool { return !v.UseSavedVar && v.LastBooted == "" }},
		{"LastBooted not read without @saved", "default a.conf\n", MapVars{"LoaderEntryLastBooted": "b.conf"}, "a.conf", "loader.conf", -1,
			func(v LoaderVars) bool { return v.LastBooted == "" && !v.UseSaved }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{Entries: entries(), Loader: ParseLoaderConf("loader.conf", []byte(c.loader)), Default: -1}
			if err := cfg.pickDefault(c.vars, 0); err != nil {
				t.Fatal(err)
			}
			if cfg.Entries[cfg.Default].ID != c.def || cfg.DefaultSource != c.source || cfg.Vars.DefaultVarEntry != c.varEntry || !c.check(cfg.Vars) {
				t.Errorf("default %s from %q, vars %+v", cfg.Entries[cfg.Default].ID, cfg.DefaultSource, cfg.Vars)
			}
		})
	}
}

// TestToggleDefault follows menu_run's d: set the highlighted entry, or
// clear LoaderEntryDefault when it is already the one it names; only a
// change against what was read is written.
func TestToggleDefault(t *testing.T) {
	cfg := &Config{Entries: []*Entry{{ID: "b.conf", Status: StatusOK, TriesLeft: -1}, {ID: "a.conf", Status: StatusOK, TriesLeft: -1}}, Default: -1}
	if err := cfg.pickDefault(MapVars{"LoaderEntryDefault": "@saved", "LoaderEntryLastBooted": "a.conf"}, 0); err != nil {
		t.Fatal(err)
	}
	v := &cfg.Vars
	steps := []struct {
		name       string
		entry      int
		set        bool
		defaultSet bool
		changed    bool
	}{
		{"d on the variable's entry clears it", 1, false, false, true},
		{"d again sets it back", 1, true, true, false},
		{"d on another entry sets that one", 0, true, true, true},
	}
	for _, s := range steps {
		set := v.ToggleDefault(s.entry, cfg.Entries[s.entry].ID)
		if set != s.set || v.DefaultSet != s.defaultSet || v.DefaultChanged() != s.changed || v.UseSavedVar {
			t.Errorf("%s: set %v, vars %+v, changed %v", s.name, set, *v, v.DefaultChanged())
		}
	}
	if v.Default != "b.conf" {
		t.Errorf("LoaderEntryDefault would be %q, want b.conf", v.Default)
	}
}
