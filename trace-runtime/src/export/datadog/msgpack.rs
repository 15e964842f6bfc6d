//! The few MessagePack forms the Agent's `/v0.4/traces` intake reads: maps
//! and arrays with their lengths, strings, unsigned and signed integers and
//! doubles, each in its smallest encoding (the format's rule, not an
//! optimisation). No dependency: the whole payload is written into one
//! `Vec<u8>`, which is the request body.

/// Writes MessagePack into a byte buffer.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer::default()
    }

    /// The encoded bytes.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// An array header: `len` values follow.
    pub(crate) fn array(&mut self, len: usize) {
        self.header(len, 0x90, 0xdc, 0xdd);
    }

    /// A map header: `len` key/value pairs follow.
    pub(crate) fn map(&mut self, len: usize) {
        self.header(len, 0x80, 0xde, 0xdf);
    }

    pub(crate) fn str(&mut self, s: &str) {
        let len = s.len();
        if len < 32 {
            // fixstr: the length fits the marker byte.
            self.buf.push(0xa0 | len as u8);
        } else if let Ok(len) = u8::try_from(len) {
            self.buf.extend_from_slice(&[0xd9, len]);
        } else if let Ok(len) = u16::try_from(len) {
            self.buf.push(0xda);
            self.buf.extend_from_slice(&len.to_be_bytes());
        } else {
            // Callers cut strings far below 4 GiB (span values are capped
            // before export); saturate rather than write a wrong length.
            let len = u32::try_from(len).unwrap_or(u32::MAX);
            self.buf.push(0xdb);
            self.buf.extend_from_slice(&len.to_be_bytes());
            self.buf.extend_from_slice(&s.as_bytes()[..len as usize]);
            return;
        }
        self.buf.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn uint(&mut self, v: u64) {
        if v < 0x80 {
            self.buf.push(v as u8);
        } else if let Ok(v) = u8::try_from(v) {
            self.buf.extend_from_slice(&[0xcc, v]);
        } else if let Ok(v) = u16::try_from(v) {
            self.buf.push(0xcd);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(v) {
            self.buf.push(0xce);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(0xcf);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn int(&mut self, v: i64) {
        if let Ok(u) = u64::try_from(v) {
            return self.uint(u);
        }
        if v >= -32 {
            // negative fixint: the byte is the two's complement value.
            self.buf.push(v as u8);
        } else if let Ok(v) = i8::try_from(v) {
            self.buf.push(0xd0);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i16::try_from(v) {
            self.buf.push(0xd1);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else if let Ok(v) = i32::try_from(v) {
            self.buf.push(0xd2);
            self.buf.extend_from_slice(&v.to_be_bytes());
        } else {
            self.buf.push(0xd3);
            self.buf.extend_from_slice(&v.to_be_bytes());
        }
    }

    pub(crate) fn f64(&mut self, v: f64) {
        self.buf.push(0xcb);
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    fn header(&mut self, len: usize, fix: u8, m16: u8, m32: u8) {
        if len < 16 {
            self.buf.push(fix | len as u8);
        } else if let Ok(len) = u16::try_from(len) {
            self.buf.push(m16);
            self.buf.extend_from_slice(&len.to_be_bytes());
        } else {
            self.buf.push(m32);
            self.buf.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        f(&mut w);
        w.into_bytes()
    }

    // Expected bytes from the MessagePack specification's format table.
    #[test]
    fn integers_take_their_smallest_form() {
        assert_eq!(bytes(|w| w.uint(0)), [0x00]);
        assert_eq!(bytes(|w| w.uint(127)), [0x7f]);
        assert_eq!(bytes(|w| w.uint(128)), [0xcc, 0x80]);
        assert_eq!(bytes(|w| w.uint(256)), [0xcd, 0x01, 0x00]);
        assert_eq!(bytes(|w| w.uint(65_536)), [0xce, 0, 1, 0, 0]);
        assert_eq!(bytes(|w| w.uint(u64::MAX)), [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(bytes(|w| w.int(-1)), [0xff]);
        assert_eq!(bytes(|w| w.int(-32)), [0xe0]);
        assert_eq!(bytes(|w| w.int(-33)), [0xd0, 0xdf]);
        assert_eq!(bytes(|w| w.int(-129)), [0xd1, 0xff, 0x7f]);
        assert_eq!(bytes(|w| w.int(i64::MIN))[0], 0xd3);
        assert_eq!(bytes(|w| w.int(5)), [0x05]);
    }

    #[test]
    fn strings_and_containers_carry_their_lengths() {
        assert_eq!(bytes(|w| w.str("")), [0xa0]);
        assert_eq!(bytes(|w| w.str("abc")), [0xa3, b'a', b'b', b'c']);
        let s32 = "x".repeat(32);
        assert_eq!(&bytes(|w| w.str(&s32))[..2], [0xd9, 32]);
        let s300 = "x".repeat(300);
        assert_eq!(&bytes(|w| w.str(&s300))[..3], [0xda, 0x01, 0x2c]);
        assert_eq!(bytes(|w| w.array(2)), [0x92]);
        assert_eq!(bytes(|w| w.array(16)), [0xdc, 0, 16]);
        assert_eq!(bytes(|w| w.map(1)), [0x81]);
        assert_eq!(bytes(|w| w.map(70_000)), [0xdf, 0, 1, 0x11, 0x70]);
        assert_eq!(bytes(|w| w.f64(1.5)), [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    }
}
