package mgmt

import (
	"hash/maphash"
	"slices"
)

// duplicateKey returns the first key of list, in list order, that an
// earlier element already has. It hashes the keys and sorts the hashes, so
// a million keys cost one slice of integers rather than a map of strings;
// only keys whose hashes collide are compared as strings.
func duplicateKey(list []named) (string, bool) {
	if len(list) < 2 {
		return "", false
	}
	seed := maphash.MakeSeed()
	hashes := make([]uint64, len(list))
	for i := range list {
		hashes[i] = maphash.String(seed, list[i].key)
	}
	sorted := slices.Clone(hashes)
	slices.Sort(sorted)
	suspects := map[uint64]bool{}
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			suspects[sorted[i]] = true
		}
	}
	if len(suspects) == 0 {
		return "", false
	}
	seen := map[string]bool{}
	for i, n := range list {
		if !suspects[hashes[i]] {
			continue
		}
		if seen[n.key] {
			return n.key, true
		}
		seen[n.key] = true
	}
	return "", false
}
