package actions

import "testing"

func BenchmarkAppendEmpty(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = AppendEmpty(buf[:0], 403, true)
	}
}
