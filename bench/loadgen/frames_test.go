package main

import (
	"bytes"
	"math/rand"
	"testing"
)

type recorder struct {
	data     int
	controls [][]byte
	opcodes  []byte
}

func (r *recorder) dataFrame() { r.data++ }
func (r *recorder) controlFrame(op byte, p []byte) {
	r.opcodes = append(r.opcodes, op)
	r.controls = append(r.controls, append([]byte(nil), p...))
}

// serverFrame builds an unmasked frame as a server sends it.
func serverFrame(opcode byte, payload []byte) []byte {
	n := len(payload)
	f := []byte{0x80 | opcode}
	switch {
	case n < 126:
		f = append(f, byte(n))
	case n < 65536:
		f = append(f, 126, byte(n>>8), byte(n))
	default:
		f = append(f, 127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(f, payload...)
}

// Every header length (7-bit, 16-bit, 64-bit), empty payloads and control frames between data
// frames, cut at every possible place: the counts never depend on how the bytes were split.
func TestFeedCountsFramesHoweverTheBytesAreSplit(t *testing.T) {
	var stream []byte
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	for _, n := range sizes {
		stream = append(stream, serverFrame(opBinary, bytes.Repeat([]byte{0xab}, n))...)
	}
	stream = append(stream, serverFrame(opPing, []byte("are you there"))...)
	stream = append(stream, serverFrame(opBinary, []byte{1, 2, 3})...)
	stream = append(stream, serverFrame(opClose, []byte{0x0f, 0xa1, 'b', 'y', 'e'})...)

	rng := rand.New(rand.NewSource(1))
	for _, maxChunk := range []int{1, 2, 3, 7, 100, 4096, len(stream)} {
		var r frameReader
		var rec recorder
		for p := stream; len(p) > 0; {
			k := 1 + rng.Intn(maxChunk)
			if k > len(p) {
				k = len(p)
			}
			r.feed(p[:k], &rec)
			p = p[k:]
		}
		if rec.data != len(sizes)+1 {
			t.Fatalf("chunks up to %d: %d data frames, want %d", maxChunk, rec.data, len(sizes)+1)
		}
		if len(rec.opcodes) != 2 || rec.opcodes[0] != opPing || rec.opcodes[1] != opClose {
			t.Fatalf("chunks up to %d: control frames %v", maxChunk, rec.opcodes)
		}
		if string(rec.controls[0]) != "are you there" || !bytes.Equal(rec.controls[1], []byte{0x0f, 0xa1, 'b', 'y', 'e'}) {
			t.Fatalf("chunks up to %d: control payloads %q", maxChunk, rec.controls)
		}
		if r.inFrame || r.hdrLen != 0 {
			t.Fatalf("chunks up to %d: reader not at a frame boundary at the end", maxChunk)
		}
	}
}

// The pong and close a client sends are masked (with a zero mask) and carry the payload as is.
func TestClientFrameIsMasked(t *testing.T) {
	f := clientFrame(opPong, []byte("hi"))
	want := []byte{0x80 | opPong, 0x80 | 2, 0, 0, 0, 0, 'h', 'i'}
	if !bytes.Equal(f, want) {
		t.Fatalf("got % x, want % x", f, want)
	}
}
