package actions

import "strconv"

// The per-action option parsers (SPEC §4). Each runs after checkOptionNames,
// so opts holds only options of the rule's Kind.

func (r *Rule) parseEmpty(opts map[string]any) error {
	v, err := required(Empty, opts, optCode)
	if err != nil {
		return err
	}
	code, ok := intValue(v, MinCode, MaxCode)
	if !ok {
		return invalid(optCode, "must be an integer status code from 100 to 599")
	}
	r.Code = int(code)
	return nil
}

func (r *Rule) parseProxy(opts map[string]any) error {
	v, err := required(Proxy, opts, optBackends)
	if err != nil {
		return err
	}
	r.Attempts, r.Delay = DefaultAttempts, DefaultDelay
	if v, ok := opts[optAttempts]; ok {
		n, ok := intValue(v, MinAttempts, MaxAttempts)
		if !ok {
			return invalid(optAttempts, "must be an integer from 1 to 100")
		}
		r.Attempts, r.given = int(n), r.given|givenAttempts
	}
	if err := r.parseBackends(v); err != nil {
		return err
	}
	if v, ok := opts[optDelay]; ok {
		d, ok := durationValue(v, false, MaxDelay)
		if !ok {
			return invalid(optDelay, "must be a number of seconds from 0 to 3600")
		}
		r.Delay, r.given = d, r.given|givenDelay
	}
	return nil
}

func (r *Rule) parseBackends(v any) error {
	list, ok := v.([]any)
	if !ok || len(list) == 0 || len(list) > MaxBackends {
		return invalid(optBackends, "must be a list of 1 to 1024 backends")
	}
	r.Backends = make([]Backend, len(list))
	r.addrs = make([]string, len(list))
	for i, item := range list {
		b, why := parseBackend(item)
		if why != "" {
			return invalid(optBackends+"["+strconv.Itoa(i)+"]", why)
		}
		r.Backends[i] = b
		r.addrs[i] = b.Addr()
	}
	return nil
}

func (r *Rule) parseRedirect(opts map[string]any) error {
	v, err := required(Redirect, opts, optRedirectTo)
	if err != nil {
		return err
	}
	s, ok := v.(string)
	if !ok {
		return invalid(optRedirectTo, "must be a string")
	}
	if why := checkRedirectTo(s); why != "" {
		return invalid(optRedirectTo, why)
	}
	r.RedirectTo = s
	return nil
}

func (r *Rule) parseSpin(opts map[string]any) error {
	r.Timeout, r.CheckInterval = DefaultTimeout, DefaultCheckInterval
	if v, ok := opts[optCheckInterval]; ok {
		d, ok := durationValue(v, true, MaxCheckInterval)
		if !ok {
			return invalid(optCheckInterval, "must be a number of seconds above 0 and at most 3600")
		}
		r.CheckInterval, r.given = d, r.given|givenCheckInterval
	}
	if v, ok := opts[optTimeout]; ok {
		d, ok := durationValue(v, true, MaxTimeout)
		if !ok {
			return invalid(optTimeout, "must be a number of seconds above 0 and at most 86400")
		}
		r.Timeout, r.given = d, r.given|givenTimeout
	}
	return nil
}

func (r *Rule) parseStatic(opts map[string]any) error {
	v, err := required(Static, opts, optType)
	if err != nil {
		return err
	}
	s, ok := v.(string)
	if !ok || !validStaticType(s) {
		return invalid(optType, "must be a name of 1 to 64 bytes of A-Z a-z 0-9 . _ -, "+
			"not starting with '.' and without \"..\"")
	}
	r.Type = s
	return nil
}

// validStaticType reports whether s may name a static response file
// (TYPE.http in static_dir): a plain name that can never be a path or climb
// out of the folder (SPEC §4, §9.8).
func validStaticType(s string) bool {
	if s == "" || len(s) > MaxTypeLen || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isHostNameByte(c) && c != '.' && c != '_' {
			return false
		}
		if c == '.' && i > 0 && s[i-1] == '.' {
			return false
		}
	}
	return true
}
