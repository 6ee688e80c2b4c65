package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// recordingVars are EFI variables that record every change.
type recordingVars struct {
	bls.MapVars
	writes []string
}

func (r *recordingVars) Set(name, value string) error {
	r.writes = append(r.writes, "set "+name+"="+value)
	r.MapVars[name] = value
	return nil
}

func (r *recordingVars) SetVolatile(name, value string) error {
	r.writes = append(r.writes, "set volatile "+name+"="+value)
	r.MapVars[name] = value
	return nil
}

func (r *recordingVars) Delete(name string) error {
	r.writes = append(r.writes, "delete "+name)
	delete(r.MapVars, name)
	return nil
}

// varsTree has two UKIs, os-2.efi (first) and os-1.efi, and loader.conf.
func varsTree(t *testing.T, loaderConf string) string {
	esp := t.TempDir()
	ukiFile(t, esp, "os-2.efi", "os", "2", "c2", "K2")
	ukiFile(t, esp, "os-1.efi", "os", "1", "c1", "K1")
	if loaderConf != "" {
		os.MkdirAll(filepath.Join(esp, "loader"), 0o755)
		os.WriteFile(filepath.Join(esp, "loader/loader.conf"), []byte(loaderConf), 0o644)
	}
	return esp
}

// TestBootWritesLoaderVars follows what systemd-boot changes on a boot:
// config_load_defaults deletes LoaderEntryOneShot whenever it was read;
// save_selected_entry sets LoaderEntrySelected (volatile) and, unless the
// boot was the one-shot's, LoaderEntryLastBooted when @saved is in use
// (else deletes it). The changes happen in the commit step, before the load.
func TestBootWritesLoaderVars(t *testing.T) {
	cases := []struct {
		name       string
		loaderConf string
		vars       bls.MapVars
		args       []string
		kernel     string
		writes     []string
	}{
		{"one-shot that matches nothing is deleted", "", bls.MapVars{"LoaderEntryOneShot": "nothing.efi"}, nil, "K2",
			[]string{"delete LoaderEntryOneShot", "set volatile LoaderEntrySelected=os-2.efi"}},
		{"one-shot boot saves nothing", "default @saved\n", bls.MapVars{"LoaderEntryOneShot": "OS-1.EFI", "LoaderEntryLastBooted": "os-2.efi"}, nil, "K1",
			[]string{"delete LoaderEntryOneShot", "set volatile LoaderEntrySelected=os-1.efi"}},
		{"loader.conf @saved writes LoaderEntryLastBooted", "default @saved\n", bls.MapVars{"LoaderEntryLastBooted": "os-2.efi"}, []string{"-entry", "os-1.efi"}, "K1",
			[]string{"set volatile LoaderEntrySelected=os-1.efi", "set LoaderEntryLastBooted=os-1.efi"}},
		{"@saved boot of the saved entry writes it not again", "default @saved\n", bls.MapVars{"LoaderEntryLastBooted": "os-1.efi"}, nil, "K1",
			[]string{"set volatile LoaderEntrySelected=os-1.efi"}},
		{"LoaderEntryDefault @saved", "", bls.MapVars{"LoaderEntryDefault": "@saved"}, nil, "K2",
			[]string{"set volatile LoaderEntrySelected=os-2.efi", "set LoaderEntryLastBooted=os-2.efi"}},
		{"a LoaderEntryDefault overrides loader.conf's @saved", "default @saved\n", bls.MapVars{"LoaderEntryDefault": "os-1.efi", "LoaderEntryLastBooted": "os-2.efi"}, nil, "K1",
			[]string{"set volatile LoaderEntrySelected=os-1.efi", "delete LoaderEntryLastBooted"}},
		{"without @saved LoaderEntryLastBooted is deleted", "", bls.MapVars{"LoaderEntryLastBooted": "os-2.efi"}, nil, "K2",
			[]string{"set volatile LoaderEntrySelected=os-2.efi", "delete LoaderEntryLastBooted"}},
		{"-auto leaves LoaderConfigTimeoutOneShot to the menu", "", bls.MapVars{"LoaderConfigTimeoutOneShot": "5"}, nil, "K2",
			[]string{"set volatile LoaderEntrySelected=os-2.efi"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			esp := varsTree(t, c.loaderConf)
			vars := &recordingVars{MapVars: c.vars}
			f := &fakeSystem{platform: noPlatform(t), vars: vars}
			var stdout, stderr bytes.Buffer
			args := append([]string{"-auto", "-verify", "off", "-root", esp}, c.args...)
			if rc := runWith(args, &stdout, &stderr, f.sys()); rc != 0 || len(f.loads) != 1 || string(f.loads[0].kernel) != c.kernel {
				t.Fatalf("rc %d loads %d\n%s", rc, len(f.loads), stderr.String())
			}
			if got, want := strings.Join(vars.writes, "; "), strings.Join(c.writes, "; "); got != want {
				t.Errorf("writes:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// TestDryRunAndListWriteNoVariable: -dry-run (with -auto, or the menu,
// including its d) and -list change no EFI variable, whatever they read.
func TestDryRunAndListWriteNoVariable(t *testing.T) {
	cases := []struct {
		name string
		keys string // typed into the menu; "" runs without the menu
		args []string
		log  string
	}{
		{"-auto -dry-run", "", []string{"-auto", "-dry-run"}, "dry run: LoaderEntryOneShot would be removed"},
		{"menu -dry-run, d and Enter", "d\r", []string{"-dry-run", "-timeout", "menu-force"}, `dry run: LoaderEntryDefault would be set to "os-1.efi"`},
		{"menu -dry-run, menu forced by the one-shot timeout", "\r", []string{"-dry-run"}, "dry run: LoaderConfigTimeoutOneShot would be removed"},
		{"-list", "", []string{"-list"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			esp := varsTree(t, "default @saved\ntimeout 0\n")
			vars := &recordingVars{MapVars: bls.MapVars{"LoaderEntryOneShot": "x", "LoaderConfigTimeoutOneShot": "0", "LoaderEntryLastBooted": "os-1.efi"}}
			f := &fakeSystem{platform: noPlatform(t), vars: vars}
			args := append(c.args, "-verify", "off", "-root", esp)
			var rc int
			var log string
			if c.keys == "" {
				var stdout, stderr bytes.Buffer
				rc = runWith(args, &stdout, &stderr, f.sys())
				log = stderr.String()
			} else {
				rc, _, log = runMenuWith(t, f, c.keys, args...)
			}
			if rc != 0 || len(f.loads) != 0 || len(vars.writes) != 0 {
				t.Fatalf("rc %d loads %d writes %q\n%s", rc, len(f.loads), vars.writes, log)
			}
			if !strings.Contains(log, c.log) {
				t.Errorf("log lacks %q:\n%s", c.log, log)
			}
		})
	}
}

// TestMenuDefaultKeyToggles follows menu_run's d: on the entry
// LoaderEntryDefault chose it clears the variable, on another entry it
// sets it; the variable is written when the menu is left (here: for a
// boot), as systemd-boot writes it after the menu.
func TestMenuDefaultKeyToggles(t *testing.T) {
	cases := []struct {
		name   string
		keys   string
		screen string
		writes string
	}{
		{"d on the default clears it", "d\r", "default entry cleared", "delete LoaderEntryDefault; set volatile LoaderEntrySelected=os-1.efi"},
		{"d on another entry sets it", "kd\r", "default entry: os-2.efi", "set LoaderEntryDefault=os-2.efi; set volatile LoaderEntrySelected=os-2.efi"},
		{"d twice changes nothing", "dd\r", "default entry: os-1.efi", "set volatile LoaderEntrySelected=os-1.efi"},
		{"a rescan keeps d's choice", "kdr\r", "default entry: os-2.efi", "set LoaderEntryDefault=os-2.efi; set volatile LoaderEntrySelected=os-2.efi"},
		{"a rescan keeps d's clearing", "dr\r", "default entry cleared", "delete LoaderEntryDefault; set volatile LoaderEntrySelected=os-1.efi"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			esp := varsTree(t, "")
			vars := &recordingVars{MapVars: bls.MapVars{"LoaderEntryDefault": "os-1.efi"}}
			f := &fakeSystem{platform: noPlatform(t), vars: vars}
			rc, out, log := runMenuWith(t, f, c.keys, "-timeout", "menu-force", "-verify", "off", "-root", esp)
			if rc != 0 || len(f.loads) != 1 {
				t.Fatalf("rc %d loads %d\n%s\n%s", rc, len(f.loads), out, log)
			}
			if !strings.Contains(out, c.screen) {
				t.Errorf("screen lacks %q:\n%s", c.screen, out)
			}
			if got := strings.Join(vars.writes, "; "); got != c.writes {
				t.Errorf("writes:\n got %s\nwant %s", got, c.writes)
			}
		})
	}
}

// TestMenuTimeoutFromVariables follows config_load_defaults: loader.conf,
// then LoaderConfigTimeout, then LoaderConfigTimeoutOneShot, which forces
// the menu; -timeout, the ROM's policy, overrides them all.
func TestMenuTimeoutFromVariables(t *testing.T) {
	cases := []struct {
		name       string
		loaderConf string
		vars       bls.MapVars
		timeout    string // -timeout
		want       string
	}{
		{"loader.conf", "timeout 4\n", bls.MapVars{}, "", "4s"},
		{"LoaderConfigTimeout over loader.conf", "timeout 4\n", bls.MapVars{"LoaderConfigTimeout": "9"}, "", "9s"},
		{"bootctl set-timeout menu-force", "timeout 4\n", bls.MapVars{"LoaderConfigTimeout": "4294967295"}, "", "forever"},
		{"LoaderConfigTimeout menu-hidden", "timeout 4\n", bls.MapVars{"LoaderConfigTimeout": "menu-hidden"}, "", "hidden"},
		{"one-shot over both", "timeout 4\n", bls.MapVars{"LoaderConfigTimeout": "9", "LoaderConfigTimeoutOneShot": "2"}, "", "2s"},
		{"one-shot 0 forces the menu", "timeout menu-hidden\n", bls.MapVars{"LoaderConfigTimeoutOneShot": "0"}, "", "forever"},
		{"one-shot forces a disabled menu", "timeout menu-disabled\n", bls.MapVars{"LoaderConfigTimeoutOneShot": "menu-disabled"}, "", "forever"},
		{"-timeout wins over the variables", "", bls.MapVars{"LoaderConfigTimeout": "9", "LoaderConfigTimeoutOneShot": "2"}, "0", "hidden"},
		{"a bad variable is ignored", "timeout 4\n", bls.MapVars{"LoaderConfigTimeout": "soon"}, "", "4s"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := bls.Load([]string{varsTree(t, c.loaderConf)}, bls.Options{Vars: c.vars})
			if err != nil {
				t.Fatal(err)
			}
			defer cfg.Close()
			var o options
			if c.timeout != "" {
				if err := o.timeout.Set(c.timeout); err != nil {
					t.Fatal(err)
				}
			}
			mt, hidden, disabled := menuTimeout(&o, cfg)
			var got string
			switch {
			case disabled:
				got = "disabled"
			case hidden:
				got = "hidden"
			case mt.Forever:
				got = "forever"
			default:
				got = strconv.Itoa(mt.Seconds) + "s"
			}
			if got != c.want {
				t.Errorf("timeout %s, want %s", got, c.want)
			}
		})
	}
}

// TestMenuLeavingWritesVars: the menu consumes LoaderConfigTimeoutOneShot
// (config_load_defaults) and writes the d key's LoaderEntryDefault when it
// is left, for a boot or for a reboot (menu_run), but never with
// -timeout, which overrides the variable.
func TestMenuLeavingWritesVars(t *testing.T) {
	cases := []struct {
		name   string
		keys   string
		args   []string
		writes string
	}{
		{"boot", "\r", nil, "delete LoaderConfigTimeoutOneShot; set volatile LoaderEntrySelected=os-2.efi"},
		{"reboot after d", "kdb", nil, "delete LoaderConfigTimeoutOneShot; set LoaderEntryDefault=os-2.efi"},
		{"-timeout leaves the one-shot timeout", "\r", []string{"-timeout", "menu-force"}, "set volatile LoaderEntrySelected=os-2.efi"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			esp := varsTree(t, "timeout menu-hidden\n")
			vars := &recordingVars{MapVars: bls.MapVars{"LoaderConfigTimeoutOneShot": "menu-hidden"}}
			f := &fakeSystem{platform: noPlatform(t), vars: vars}
			args := append(c.args, "-verify", "off", "-root", esp)
			rc, out, log := runMenuWith(t, f, c.keys, args...)
			if rc != 0 {
				t.Fatalf("rc %d\n%s\n%s", rc, out, log)
			}
			if got := strings.Join(vars.writes, "; "); got != c.writes {
				t.Errorf("writes:\n got %s\nwant %s", got, c.writes)
			}
		})
	}
}
