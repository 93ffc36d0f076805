package actions

import "strconv"

// Codes carried by RuleError. host_details_not_list,
// host_details_wrong_length, host_action_invalid, host_kwargs_not_dict and
// host_match_subdomains_not_bool are the first Mantrid's (its
// mantrid/management.py); bad_json and the host_option_* codes are
// Mantrid's own, for checks the first one did not make. The strings are
// part of the API and never change.
const (
	// CodeBadJSON means the body is not valid JSON.
	CodeBadJSON = "bad_json"
	// CodeHostDetailsNotList means the rule is not a JSON array.
	CodeHostDetailsNotList = "host_details_not_list"
	// CodeHostDetailsWrongLength means the array does not have 3 elements.
	CodeHostDetailsWrongLength = "host_details_wrong_length"
	// CodeHostActionInvalid means the action is not a string naming an action.
	CodeHostActionInvalid = "host_action_invalid"
	// CodeHostKwargsNotDict means the options are not a JSON object.
	CodeHostKwargsNotDict = "host_kwargs_not_dict"
	// CodeHostMatchSubdomainsNotBool means the subdomains flag (the
	// triple's third element, "match subdomains") is not a JSON boolean.
	CodeHostMatchSubdomainsNotBool = "host_match_subdomains_not_bool"
	// CodeHostOptionUnknown means an option is not valid for the action.
	CodeHostOptionUnknown = "host_option_unknown"
	// CodeHostOptionMissing means a required option is absent.
	CodeHostOptionMissing = "host_option_missing"
	// CodeHostOptionInvalid means an option has the wrong type or is out of
	// range.
	CodeHostOptionInvalid = "host_option_invalid"
)

// RuleError is the error ParseRule and ParseRuleValue return for a rule that
// is not valid. They return it as a value (RuleError, not *RuleError), so
// match it with
//
//	var re actions.RuleError
//	if errors.As(err, &re) { ... re.Code ... }
type RuleError struct {
	// Code is one of the Code* constants; the REST API sends it as "error".
	Code string
	// Detail says what is wrong in plain words for a human. It names the
	// option at fault; any part of the input it quotes is escaped with
	// strconv.QuoteToASCII and shortened, so it never holds control bytes.
	Detail string
}

// Error returns the code, then ": " and the detail when there is one.
func (e RuleError) Error() string {
	if e.Detail == "" {
		return e.Code
	}
	return e.Code + ": " + e.Detail
}

// maxQuoted bounds how many bytes of an input string a Detail quotes.
const maxQuoted = 64

// quote returns s as a Go-quoted ASCII string for a Detail, cut to maxQuoted
// bytes, so that no untrusted byte reaches a log or a response raw.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.QuoteToASCII(s[:maxQuoted]) + "..."
	}
	return strconv.QuoteToASCII(s)
}

func ruleError(code, detail string) error {
	return RuleError{Code: code, Detail: detail}
}

// invalid returns a host_option_invalid error for option name.
func invalid(name, want string) error {
	return RuleError{Code: CodeHostOptionInvalid, Detail: name + ": " + want}
}
