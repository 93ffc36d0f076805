package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// castagnoli is the CRC-32C table every file and record is checked with.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errDamaged marks a file whose content is not what the store wrote.
var errDamaged = errors.New("damaged")

// damaged returns an error wrapping errDamaged with what is wrong.
func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errDamaged, fmt.Sprintf(format, args...))
}

// writer appends to a buffered file and keeps the CRC-32C of what it
// wrote. The first write error sticks.
type writer struct {
	w   *bufio.Writer
	crc uint32
	n   int64
	err error
	buf [10]byte
}

func newWriter(w io.Writer) *writer { return &writer{w: bufio.NewWriterSize(w, 1<<20)} }

func (w *writer) bytes(b []byte) {
	if w.err != nil {
		return
	}
	w.crc = crc32.Update(w.crc, castagnoli, b)
	w.n += int64(len(b))
	_, w.err = w.w.Write(b)
}

func (w *writer) u8(v uint8) { w.bytes([]byte{v}) }

func (w *writer) u16(v uint16) {
	binary.LittleEndian.PutUint16(w.buf[:], v)
	w.bytes(w.buf[:2])
}

func (w *writer) u32(v uint32) {
	binary.LittleEndian.PutUint32(w.buf[:], v)
	w.bytes(w.buf[:4])
}

func (w *writer) u64(v uint64) {
	binary.LittleEndian.PutUint64(w.buf[:], v)
	w.bytes(w.buf[:8])
}

func (w *writer) uvarint(v uint64) { w.bytes(binary.AppendUvarint(w.buf[:0], v)) }

// str writes a string of at most 65535 bytes with its length in front.
func (w *writer) str(s string) {
	w.u16(uint16(len(s)))
	if w.err == nil {
		w.crc = crc32.Update(w.crc, castagnoli, []byte(s))
		w.n += int64(len(s))
		_, w.err = w.w.WriteString(s)
	}
}

// trailer writes the end mark and the CRC of everything before it, then
// flushes.
func (w *writer) trailer(mark string) error {
	w.bytes([]byte(mark))
	crc := w.crc
	w.u32(crc)
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

// reader reads what writer wrote, checking the CRC. The bytes it returns
// alias its buffer and are valid until the next call.
type reader struct {
	r   *bufio.Reader
	crc uint32
	off int64
	err error
}

func newReader(r io.Reader) *reader { return &reader{r: bufio.NewReaderSize(r, 1<<20)} }

// bytes returns the next n bytes (n at most 1 MiB).
func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	b, err := r.r.Peek(n)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = damaged("file ends early at byte %d", r.off+int64(len(b)))
		}
		r.err = err
		return nil
	}
	r.r.Discard(n)
	r.crc = crc32.Update(r.crc, castagnoli, b)
	r.off += int64(n)
	return b
}

func (r *reader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *reader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.bytes(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	b, _ := r.r.Peek(binary.MaxVarintLen64)
	v, n := binary.Uvarint(b)
	if n <= 0 {
		r.err = damaged("bad number at byte %d", r.off)
		return 0
	}
	r.bytes(n)
	return v
}

// str returns the next length-prefixed string's bytes.
func (r *reader) str() []byte {
	n := r.u16()
	if r.err != nil {
		return nil
	}
	return r.bytes(int(n))
}

// trailer checks the end mark and the CRC, and that nothing follows.
func (r *reader) trailer(mark string) error {
	if m := r.bytes(len(mark)); r.err == nil && string(m) != mark {
		return damaged("no end mark at byte %d", r.off-int64(len(mark)))
	}
	want := r.crc
	got := r.u32()
	if r.err != nil {
		return r.err
	}
	if got != want {
		return damaged("checksum mismatch")
	}
	if _, err := r.r.Peek(1); err == nil {
		return damaged("bytes after the end mark at byte %d", r.off)
	}
	return nil
}
