package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mantrid/mantrid/static"
)

// liveSettings are the Config fields that a reload (SIGHUP) puts in force
// without a restart; a change of any other field is reported as needing
// one. Timeouts and limits reach the event loops through
// loop.Engine.Reconfigure; static_dir is read again at every reload anyway.
var liveSettings = map[string]bool{
	"StaticDir": true, "MaxConnections": true, "HeadTimeout": true, "IdleTimeout": true,
	"MaxHeadSize": true, "MaxURILength": true, "MaxHeaders": true, "GracePeriod": true,
	"ConnectTimeout": true, "BackendTimeout": true, "BackendIdleTimeout": true,
	"MaxIdlePerBackend": true, "MaxDialsPerBackend": true, "MaxSpin": true,
	"MaxPipelined": true, "LogLevel": true,
}

// reload re-reads the config file and static_dir (SIGHUP) and never stops
// the process: a config file that cannot be used leaves the running config
// as it is (the error names the line); a page file that cannot be used
// leaves its page as it was. It logs one line per setting that needs a
// restart and one summary line.
func (d *daemon) reload() {
	start := time.Now()
	sdNotify(fmt.Sprintf("RELOADING=1\nMONOTONIC_USEC=%d", monotonicMicros()))
	defer sdNotify("READY=1")
	configState := "unchanged"
	var applied, restart []string
	next, err := readConfig(d.opts.path, d.log)
	if err != nil {
		d.log.Error("reload: the config file cannot be used; the running config stays", "err", err)
		configState = "error"
	} else {
		applied, restart = d.applyConfig(next)
		if len(applied)+len(restart) > 0 {
			configState = "changed"
		}
	}
	pages, problems := static.Reload(d.cfg.StaticDir, d.pages)
	for _, p := range problems {
		d.log.Warn("reload: a static page file cannot be used; its page stays as it was", "err", p)
	}
	d.pages = pages
	d.eng.SetPages(pages)
	d.log.Info("reloaded", "config", configState, "applied", strings.Join(applied, ","),
		"needs_restart", strings.Join(restart, ","), "static_dir", d.cfg.StaticDir, "pages", pages.Len(),
		"page_errors", len(problems), "took", time.Since(start).Round(time.Microsecond))
}

// applyConfig puts in force the live settings of next that differ from
// the running config and logs each other difference as needing a
// restart. It returns the names of both kinds.
func (d *daemon) applyConfig(next Config) (applied, restart []string) {
	cur := reflect.ValueOf(&d.cfg).Elem()
	nv := reflect.ValueOf(next)
	typ := cur.Type()
	for i := range typ.NumField() {
		f := typ.Field(i)
		if !f.IsExported() || reflect.DeepEqual(cur.Field(i).Interface(), nv.Field(i).Interface()) {
			continue
		}
		name := configName(f.Name)
		if !liveSettings[f.Name] {
			d.log.Warn(fmt.Sprintf("reload: %s changed from %s to %s: needs a restart", name,
				settingText(cur.Field(i)), settingText(nv.Field(i))))
			restart = append(restart, name)
			continue
		}
		// Field by field: an upgrade's goroutine may read the fields
		// that never change live meanwhile.
		cur.Field(i).Set(nv.Field(i))
		applied = append(applied, name)
	}
	if len(applied) == 0 {
		return applied, restart
	}
	if err := d.eng.Reconfigure(d.loopConfig(d.cfg)); err != nil {
		d.log.Error("reload: the event loops refused the new settings", "err", err)
	}
	if !d.opts.debug {
		d.opts.level.Set(d.cfg.LogLevel)
	}
	return applied, restart
}

// configName returns the config file name of a Config field:
// MaxURILength → max_uri_length.
func configName(field string) string {
	r := []rune(field)
	var b strings.Builder
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) && (unicode.IsLower(r[i-1]) || i+1 < len(r) && unicode.IsLower(r[i+1])) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String()
}

// settingText writes a setting as the config file does.
func settingText(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case []string:
		if len(x) == 0 {
			return "(none)"
		}
		return strings.Join(x, ", ")
	case time.Duration:
		return strconv.FormatFloat(x.Seconds(), 'f', -1, 64)
	case slog.Level:
		return strings.ToLower(x.String())
	case string:
		if x == "" {
			return `""`
		}
		return x
	}
	return fmt.Sprint(v.Interface())
}
