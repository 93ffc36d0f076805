package actions

import (
	"strconv"

	"github.com/bytedance/sonic"
)

// ruleJSON decodes rule JSON: numbers stay exact (json.Number), strings are
// copied out of the input buffer (a Rule never aliases it), and unescaped
// control characters in strings are refused. It is read-only after
// initialisation.
var ruleJSON = sonic.Config{UseNumber: true, CopyString: true, ValidateString: true}.Froze()

// Warm compiles the JSON decoder ParseRule uses, which sonic otherwise
// compiles at the first call (a few milliseconds, on the first rule PUT
// after a start). Call it once at start; it is safe to call again.
func Warm() {
	var v any
	_ = ruleJSON.UnmarshalFromString(`["empty",{"code":200},false]`, &v)
}

// ParseRule decodes and validates one rule triple from JSON, as sent to
// PUT /hostname/HOST/ (SPEC §3, §4, §7). The returned Rule does not alias
// data. Errors are RuleError values: CodeBadJSON when data is not JSON,
// otherwise as ParseRuleValue.
func ParseRule(data []byte) (*Rule, error) {
	var v any
	if err := ruleJSON.Unmarshal(data, &v); err != nil {
		// The decoder's message quotes the input; never pass it on.
		return nil, ruleError(CodeBadJSON, "body is not valid JSON")
	}
	return ParseRuleValue(v)
}

// ParseRuleValue validates a rule already decoded into Go values, as
// sonic or encoding/json decode into an `any`: []any, map[string]any,
// float64 or json.Number (or Go integers), string, bool. The bulk API and
// the state file loader decode a whole document once and call it per rule.
// It checks in the first Mantrid's order — list, length, action, options
// object, subdomains flag — then the options: unknown names first (the
// lowest in byte order is reported), then missing required ones, then each
// value in name order. Errors are RuleError values.
func ParseRuleValue(v any) (*Rule, error) {
	triple, ok := v.([]any)
	if !ok {
		return nil, ruleError(CodeHostDetailsNotList, "a rule is a JSON array [action, options, subdomains]")
	}
	if len(triple) != 3 {
		return nil, ruleError(CodeHostDetailsWrongLength,
			"a rule has 3 elements [action, options, subdomains], not "+strconv.Itoa(len(triple)))
	}
	name, _ := triple[0].(string)
	kind, ok := ParseKind(name)
	if !ok {
		return nil, ruleError(CodeHostActionInvalid,
			"action must be one of empty, proxy, redirect, spin, static, no_hosts, unknown")
	}
	opts, ok := triple[1].(map[string]any)
	if !ok {
		return nil, ruleError(CodeHostKwargsNotDict, "options must be a JSON object")
	}
	subs, ok := triple[2].(bool)
	if !ok {
		return nil, ruleError(CodeHostMatchSubdomainsNotBool, "subdomains must be true or false")
	}
	r := &Rule{Kind: kind, Subdomains: subs}
	if err := r.parseOptions(opts); err != nil {
		return nil, err
	}
	return r, nil
}

// parseOptions checks opts against r.Kind and fills in r's option fields,
// with defaults for those not given.
func (r *Rule) parseOptions(opts map[string]any) error {
	if err := checkOptionNames(r.Kind, opts); err != nil {
		return err
	}
	switch r.Kind {
	case Empty:
		return r.parseEmpty(opts)
	case Proxy:
		return r.parseProxy(opts)
	case Redirect:
		return r.parseRedirect(opts)
	case Spin:
		return r.parseSpin(opts)
	case Static:
		return r.parseStatic(opts)
	}
	return nil // no_hosts and unknown take no options
}

// checkOptionNames refuses an option that kind does not take, naming the
// lowest such name so that the answer does not depend on map order.
func checkOptionNames(kind Kind, opts map[string]any) error {
	bad, found := "", false
	for name := range opts {
		if !optionOf(kind, name) && (!found || name < bad) {
			bad, found = name, true
		}
	}
	if !found {
		return nil
	}
	return ruleError(CodeHostOptionUnknown, "option "+quote(bad)+" is not valid for action "+kind.String())
}

// optionOf reports whether name is an option of kind (SPEC §4).
func optionOf(kind Kind, name string) bool {
	switch kind {
	case Empty:
		return name == optCode
	case Proxy:
		return name == optBackends || name == optAttempts || name == optDelay
	case Redirect:
		return name == optRedirectTo
	case Spin:
		return name == optTimeout || name == optCheckInterval
	case Static:
		return name == optType
	}
	return false
}

// required returns the value of option name, which kind must have.
func required(kind Kind, opts map[string]any, name string) (any, error) {
	v, ok := opts[name]
	if !ok {
		return nil, ruleError(CodeHostOptionMissing,
			"option "+strconv.Quote(name)+" is required for action "+kind.String())
	}
	return v, nil
}
