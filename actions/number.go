package actions

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Numbers arrive as JSON numbers (float64, or json.Number when the decoder
// was told to keep them exact), as Go integers from programmatic callers,
// and as strings from mantrid-client's key=value options (SPEC §4). A
// string must follow the JSON number grammar (RFC 8259 §6) exactly: no
// spaces, no '+', no leading zeros, no hex, no "Inf" or "NaN".

// intValue returns v as an integer in [lo, hi]. A JSON number with a
// fraction or exponent is accepted when its value is whole (403.0, 4.03e2).
func intValue(v any, lo, hi int64) (int64, bool) {
	switch x := v.(type) {
	case float64:
		return floatToInt(x, lo, hi)
	case float32:
		return floatToInt(float64(x), lo, hi)
	case int:
		return int64InRange(int64(x), lo, hi)
	case int32:
		return int64InRange(int64(x), lo, hi)
	case int64:
		return int64InRange(x, lo, hi)
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64InRange(int64(x), lo, hi)
	case json.Number:
		return numericStringToInt(string(x), lo, hi)
	case string:
		return numericStringToInt(x, lo, hi)
	}
	return 0, false
}

func int64InRange(n, lo, hi int64) (int64, bool) {
	return n, lo <= n && n <= hi
}

// floatToInt accepts f when it is finite, whole and within [lo, hi]. The
// range check happens on the float, so the conversion cannot overflow.
func floatToInt(f float64, lo, hi int64) (int64, bool) {
	if math.IsNaN(f) || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		return 0, false
	}
	return int64(f), true
}

func numericStringToInt(s string, lo, hi int64) (int64, bool) {
	whole, ok := scanNumber(s)
	if !ok {
		return 0, false
	}
	if whole {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		return int64InRange(n, lo, hi)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return floatToInt(f, lo, hi)
}

// secondsValue returns v as a finite number of seconds.
func secondsValue(v any) (float64, bool) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case json.Number:
		return numericStringToFloat(string(x))
	case string:
		return numericStringToFloat(x)
	default:
		return 0, false
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

func numericStringToFloat(s string) (float64, bool) {
	if _, ok := scanNumber(s); !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil { // out of range: ±Inf
		return 0, false
	}
	return f, true
}

// durationValue converts v, a number of seconds, to a Duration rounded to
// the nearest nanosecond, in [0, limit], or in (0, limit] when positive is
// set (a value that rounds to 0 ns is then refused). The bounds are checked
// on the float before converting, so the conversion cannot overflow.
func durationValue(v any, positive bool, limit time.Duration) (time.Duration, bool) {
	sec, ok := secondsValue(v)
	if !ok {
		return 0, false
	}
	return secondsToDuration(sec, positive, limit)
}

// secondsToDuration is durationValue for a finite number of seconds.
func secondsToDuration(sec float64, positive bool, limit time.Duration) (time.Duration, bool) {
	if sec < 0 || sec > limit.Seconds() {
		return 0, false
	}
	d := time.Duration(math.Round(sec * float64(time.Second)))
	if positive && d <= 0 {
		return 0, false
	}
	return d, d <= limit
}

// scanNumber reports whether s is a JSON number (RFC 8259 §6) and whether it
// is written as a whole number (no fraction, no exponent).
func scanNumber(s string) (whole, ok bool) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		i = skipDigits(s, i)
	default:
		return false, false
	}
	whole = true
	if i < len(s) && s[i] == '.' {
		j := skipDigits(s, i+1)
		if j == i+1 {
			return false, false
		}
		i, whole = j, false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := skipDigits(s, i)
		if j == i {
			return false, false
		}
		i, whole = j, false
	}
	return whole, i == len(s)
}

func skipDigits(s string, i int) int {
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return i
}
