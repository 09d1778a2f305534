package main

// A WebSocket frame reader that counts and skips: it never holds a data
// payload, only the header bytes it needs and the payload of control frames
// (at most 125 bytes), so one connection costs a few dozen bytes of state.

const (
	opText   = 0x1
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
)

// frameReader is the parse state of one connection between reads.
type frameReader struct {
	hdr     [10]byte // header bytes seen so far (server frames are never masked)
	hdrLen  int
	remain  uint64 // payload bytes of the current frame still to come
	opcode  byte
	control []byte // payload of the current control frame, when it is one
	inFrame bool
}

// frameSink receives what the reader found.
type frameSink interface {
	// dataFrame is called once per complete text, binary or continuation frame.
	dataFrame()
	// controlFrame is called with a complete ping, pong or close payload.
	controlFrame(opcode byte, payload []byte)
}

// headerSize is the full header length once the first two bytes are known.
func headerSize(b1 byte) int {
	switch b1 & 0x7f {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

// feed walks one chunk of bytes read from the socket.
func (r *frameReader) feed(p []byte, sink frameSink) {
	for len(p) > 0 {
		if !r.inFrame {
			need := 2
			if r.hdrLen >= 2 {
				need = headerSize(r.hdr[1])
			}
			for r.hdrLen < need && len(p) > 0 {
				r.hdr[r.hdrLen] = p[0]
				r.hdrLen++
				p = p[1:]
				if r.hdrLen == 2 {
					need = headerSize(r.hdr[1])
				}
			}
			if r.hdrLen < need {
				return
			}
			r.opcode = r.hdr[0] & 0x0f
			switch need {
			case 2:
				r.remain = uint64(r.hdr[1] & 0x7f)
			case 4:
				r.remain = uint64(r.hdr[2])<<8 | uint64(r.hdr[3])
			default:
				r.remain = 0
				for i := 2; i < 10; i++ {
					r.remain = r.remain<<8 | uint64(r.hdr[i])
				}
			}
			r.hdrLen = 0
			r.inFrame = true
			r.control = r.control[:0]
		}
		k := r.remain
		if uint64(len(p)) < k {
			k = uint64(len(p))
		}
		if r.opcode >= opClose {
			r.control = append(r.control, p[:k]...)
		}
		p = p[k:]
		r.remain -= k
		if r.remain == 0 {
			r.inFrame = false
			if r.opcode >= opClose {
				sink.controlFrame(r.opcode, r.control)
			} else {
				sink.dataFrame()
			}
		}
	}
}

// clientFrame builds a masked client frame with a zero mask (legal, and the
// payload goes out as is). Only for short control payloads.
func clientFrame(opcode byte, payload []byte) []byte {
	f := make([]byte, 0, 6+len(payload))
	f = append(f, 0x80|opcode, 0x80|byte(len(payload)), 0, 0, 0, 0)
	return append(f, payload...)
}
