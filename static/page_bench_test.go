package static

import "testing"

// BenchmarkAppendTo renders the built-in unknown page into a reused buffer.
func BenchmarkAppendTo(b *testing.B) {
	ps, err := Load("")
	if err != nil {
		b.Fatal(err)
	}
	page, _ := ps.Get(Unknown)
	dst := make([]byte, 0, page.Size(false, false))
	b.ReportAllocs()
	b.SetBytes(int64(page.Size(false, false)))
	for b.Loop() {
		dst = page.AppendTo(dst[:0], false, false)
	}
}
