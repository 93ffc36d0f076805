package actions

import "strconv"

// Kind is a rule's action (SPEC §4). The zero Kind is not a valid action.
type Kind uint8

// The actions, in the order SPEC §4 lists them.
const (
	// Empty answers with a bare status code and an empty body.
	Empty Kind = iota + 1
	// Proxy forwards the request to one of the rule's backends.
	Proxy
	// Redirect answers 302 Found to redirect_to plus the request path.
	Redirect
	// Spin holds the request until the rule changes or a timeout passes.
	Spin
	// Static answers with a static response file.
	Static
	// NoHosts answers with the built-in no_hosts static response.
	NoHosts
	// Unknown answers with the built-in unknown static response.
	Unknown
)

// String returns the action's wire name ("empty", "proxy", "redirect",
// "spin", "static", "no_hosts", "unknown"), or "Kind(N)" for a value that is
// not an action.
func (k Kind) String() string {
	switch k {
	case Empty:
		return "empty"
	case Proxy:
		return "proxy"
	case Redirect:
		return "redirect"
	case Spin:
		return "spin"
	case Static:
		return "static"
	case NoHosts:
		return "no_hosts"
	case Unknown:
		return "unknown"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// ParseKind returns the Kind whose wire name is name (case-sensitive, as the
// first Mantrid's action mapping) and whether there is one.
func ParseKind(name string) (Kind, bool) {
	for k := Empty; k <= Unknown; k++ {
		if k.String() == name {
			return k, true
		}
	}
	return 0, false
}
