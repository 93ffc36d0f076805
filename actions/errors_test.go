package actions

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRuleErrorError(t *testing.T) {
	assert.Equal(t, "bad_json", RuleError{Code: CodeBadJSON}.Error())
	assert.Equal(t, "host_option_invalid: code: x", RuleError{Code: CodeHostOptionInvalid, Detail: "code: x"}.Error())
}

// TestCodes pins the API's error codes: they are part of the wire format
// the first Mantrid's clients know.
func TestCodes(t *testing.T) {
	codes := map[string]string{
		CodeBadJSON:                    "bad_json",
		CodeHostDetailsNotList:         "host_details_not_list",
		CodeHostDetailsWrongLength:     "host_details_wrong_length",
		CodeHostActionInvalid:          "host_action_invalid",
		CodeHostKwargsNotDict:          "host_kwargs_not_dict",
		CodeHostMatchSubdomainsNotBool: "host_match_subdomains_not_bool",
		CodeHostOptionUnknown:          "host_option_unknown",
		CodeHostOptionMissing:          "host_option_missing",
		CodeHostOptionInvalid:          "host_option_invalid",
	}
	for got, want := range codes {
		assert.Equal(t, want, got)
	}
	assert.Len(t, codes, 9, "codes must be distinct")
}
