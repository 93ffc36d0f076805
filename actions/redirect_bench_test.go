package actions

import "testing"

func BenchmarkAppendRedirect(b *testing.B) {
	r, err := ParseRule([]byte(`["redirect",{"redirect_to":"www.ep.io/landing/"},true]`))
	if err != nil {
		b.Fatal(err)
	}
	path := []byte("/some/page?with=query&and=more")
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendRedirect(buf[:0], path, true, true)
	}
}
