//! The PDF file, written as it is made: each object goes out as soon as it is complete (a
//! page's content stream as soon as the page is drawn), so that a book of any length needs
//! memory only for what the end of the file refers back to (page and font references, the
//! structure tree, the outline). Objects are `lopdf` values, serialised here; page content is
//! written as bytes by [`Content`].

use std::io::{self, Write};

use lopdf::{Dictionary, Object, ObjectId, StringFormat};

/// A PDF file being written.
pub struct Writer<'w> {
    out: io::BufWriter<&'w mut dyn Write>,
    pos: u64,
    /// Byte offset of each object, by object number − 1; `None` until written.
    offsets: Vec<Option<u64>>,
    buf: Vec<u8>,
}

impl<'w> Writer<'w> {
    /// Starts a PDF 1.7 file.
    pub fn new(out: &'w mut dyn Write) -> io::Result<Writer<'w>> {
        let mut w = Writer {
            out: io::BufWriter::with_capacity(1 << 16, out),
            pos: 0,
            offsets: Vec::new(),
            buf: Vec::with_capacity(4096),
        };
        w.raw(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        Ok(w)
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    /// A new object number, for an object written later (or now).
    pub fn reserve(&mut self) -> ObjectId {
        self.offsets.push(None);
        (self.offsets.len() as u32, 0)
    }

    fn begin(&mut self, id: ObjectId) -> io::Result<()> {
        let slot = self
            .offsets
            .get_mut(id.0 as usize - 1)
            .ok_or_else(|| io::Error::other(format!("PDF object {} was never reserved", id.0)))?;
        if slot.is_some() {
            return Err(io::Error::other(format!(
                "PDF object {} written twice",
                id.0
            )));
        }
        *slot = Some(self.pos);
        let head = format!("{} 0 obj\n", id.0);
        self.raw(head.as_bytes())
    }

    /// Writes object `id`, reserved before.
    pub fn put(&mut self, id: ObjectId, object: &Object) -> io::Result<()> {
        self.begin(id)?;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        serialize(object, &mut buf);
        buf.extend_from_slice(b"\nendobj\n");
        let r = self.raw(&buf);
        self.buf = buf;
        r
    }

    /// Writes a new object and gives its number.
    pub fn add(&mut self, object: &Object) -> io::Result<ObjectId> {
        let id = self.reserve();
        self.put(id, object)?;
        Ok(id)
    }

    /// Writes stream `id` with `dict` (its `/Length` is set here) and `data` as it is: the
    /// dictionary names the filter the data was encoded with, if any.
    pub fn put_stream(
        &mut self,
        id: ObjectId,
        mut dict: Dictionary,
        data: &[u8],
    ) -> io::Result<()> {
        dict.set("Length", Object::Integer(data.len() as i64));
        self.begin(id)?;
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        serialize(&Object::Dictionary(dict), &mut buf);
        buf.extend_from_slice(b"\nstream\n");
        let r = self
            .raw(&buf)
            .and_then(|()| self.raw(data))
            .and_then(|()| self.raw(b"\nendstream\nendobj\n"));
        self.buf = buf;
        r
    }

    /// Writes a new stream, deflated when that makes it smaller, and gives its number.
    pub fn add_stream(&mut self, dict: Dictionary, data: &[u8]) -> io::Result<ObjectId> {
        let id = self.reserve();
        self.put_deflated(id, dict, data)?;
        Ok(id)
    }

    /// Writes stream `id`, deflated when that makes it smaller.
    pub fn put_deflated(
        &mut self,
        id: ObjectId,
        mut dict: Dictionary,
        data: &[u8],
    ) -> io::Result<()> {
        match deflate(data) {
            Some(small) => {
                dict.set("Filter", Object::Name(b"FlateDecode".to_vec()));
                self.put_stream(id, dict, &small)
            }
            None => self.put_stream(id, dict, data),
        }
    }

    /// Ends the file: the cross-reference table and the trailer. Every reserved object must
    /// have been written.
    pub fn finish(mut self, mut trailer: Dictionary) -> io::Result<()> {
        let start = self.pos;
        let mut xref = Vec::with_capacity(20 * (self.offsets.len() + 2));
        write!(
            xref,
            "xref\n0 {}\n0000000000 65535 f \n",
            self.offsets.len() + 1
        )?;
        for (n, offset) in self.offsets.iter().enumerate() {
            let offset = offset
                .ok_or_else(|| io::Error::other(format!("PDF object {} not written", n + 1)))?;
            writeln!(xref, "{offset:010} 00000 n ")?;
        }
        trailer.set("Size", Object::Integer(self.offsets.len() as i64 + 1));
        xref.extend_from_slice(b"trailer\n");
        serialize(&Object::Dictionary(trailer), &mut xref);
        write!(xref, "\nstartxref\n{start}\n%%EOF\n")?;
        self.raw(&xref)?;
        self.out.flush()
    }
}

/// `data` deflated (zlib, level 6), when that saves more than the filter's name costs. Each
/// thread keeps its compressor, reset for each stream: setting one up costs more than
/// deflating a page.
pub fn deflate(data: &[u8]) -> Option<Vec<u8>> {
    use flate2::{Compress, Compression, FlushCompress, Status};
    thread_local! {
        static COMPRESS: std::cell::RefCell<Option<Compress>> = const { std::cell::RefCell::new(None) };
    }
    if data.len() < 128 {
        return None;
    }
    COMPRESS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let c = cell.get_or_insert_with(|| Compress::new(Compression::new(6), true));
        c.reset();
        let mut out = Vec::with_capacity(data.len() / 3 + 64);
        loop {
            let done = c.total_in() as usize;
            match c.compress_vec(&data[done..], &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                Ok(_) => out.reserve(out.capacity().max(64)),
                Err(_) => return None,
            }
        }
        (out.len() + 19 < data.len()).then_some(out)
    })
}

/// A name's bytes as PDF writes them: `#xx` for delimiters, whitespace and bytes outside
/// the printable ASCII range.
fn write_name(name: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in name {
        if b <= b' ' || b >= 0x7f || b"#()<>[]{}/%".contains(&b) {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        } else {
            out.push(b);
        }
    }
}

/// A number as short as it can be written: whole numbers without a point, others with at
/// most three decimals (a thousandth of a point on the page).
pub fn write_number(v: f32, out: &mut Vec<u8>) {
    if !v.is_finite() {
        out.push(b'0');
        return;
    }
    let scaled = (f64::from(v) * 1000.0).round() as i64;
    if scaled == 0 {
        out.push(b'0');
        return;
    }
    if scaled < 0 {
        out.push(b'-');
    }
    let a = scaled.unsigned_abs();
    let (whole, frac) = (a / 1000, a % 1000);
    push_digits(whole, out);
    if frac != 0 {
        out.push(b'.');
        let digits = [
            (frac / 100) as u8,
            (frac / 10 % 10) as u8,
            (frac % 10) as u8,
        ]
        .map(|d| b'0' + d);
        let len = 3 - digits.iter().rev().take_while(|&&d| d == b'0').count();
        out.extend_from_slice(&digits[..len]);
    }
}

fn push_digits(mut n: u64, out: &mut Vec<u8>) {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

/// Serialises an object (a stream's dictionary and data included).
pub fn serialize(object: &Object, out: &mut Vec<u8>) {
    match object {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => write_number(*r, out),
        Object::Name(n) => write_name(n, out),
        Object::String(s, StringFormat::Hexadecimal) => {
            out.push(b'<');
            for b in s {
                out.extend_from_slice(format!("{b:02x}").as_bytes());
            }
            out.push(b'>');
        }
        Object::String(s, StringFormat::Literal) => {
            out.push(b'(');
            for &b in s {
                match b {
                    b'(' | b')' | b'\\' => {
                        out.push(b'\\');
                        out.push(b);
                    }
                    b'\r' => out.extend_from_slice(b"\\r"),
                    b'\n' => out.extend_from_slice(b"\\n"),
                    _ => out.push(b),
                }
            }
            out.push(b')');
        }
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                serialize(item, out);
            }
            out.push(b']');
        }
        Object::Dictionary(dict) => {
            out.extend_from_slice(b"<<");
            for (key, value) in dict.iter() {
                write_name(key, out);
                out.push(b' ');
                serialize(value, out);
            }
            out.extend_from_slice(b">>");
        }
        Object::Stream(stream) => {
            let mut dict = stream.dict.clone();
            dict.set("Length", Object::Integer(stream.content.len() as i64));
            serialize(&Object::Dictionary(dict), out);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&stream.content);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Reference((n, g)) => {
            out.extend_from_slice(format!("{n} {g} R").as_bytes());
        }
    }
}

/// A page's content stream, written operator by operator.
#[derive(Default)]
pub struct Content {
    /// The bytes so far.
    pub bytes: Vec<u8>,
}

impl Content {
    /// Numbers, each followed by a space.
    pub fn nums(&mut self, values: &[f32]) -> &mut Self {
        for v in values {
            write_number(*v, &mut self.bytes);
            self.bytes.push(b' ');
        }
        self
    }

    /// An operator (or any raw text), then a newline.
    pub fn op(&mut self, op: &str) -> &mut Self {
        self.bytes.extend_from_slice(op.as_bytes());
        self.bytes.push(b'\n');
        self
    }

    /// A name, then a space.
    pub fn name(&mut self, name: &str) -> &mut Self {
        write_name(name.as_bytes(), &mut self.bytes);
        self.bytes.push(b' ');
        self
    }

    /// An object (a property list), then a space.
    pub fn object(&mut self, object: &Object) -> &mut Self {
        serialize(object, &mut self.bytes);
        self.bytes.push(b' ');
        self
    }

    /// A `TJ` showing two-byte glyph ids, each followed by its adjustment in thousandths of
    /// an em (none written when it is zero).
    pub fn show(&mut self, glyphs: impl Iterator<Item = (u16, f32)>) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let b = &mut self.bytes;
        b.push(b'[');
        let mut open = false;
        for (gid, adjust) in glyphs {
            if !open {
                b.push(b'<');
                open = true;
            }
            for shift in [12, 8, 4, 0] {
                b.push(HEX[usize::from((gid >> shift) & 0xf)]);
            }
            if adjust != 0.0 {
                b.push(b'>');
                open = false;
                write_number(adjust, b);
            }
        }
        if open {
            b.push(b'>');
        }
        b.extend_from_slice(b"] TJ\n");
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_exact_enough() {
        let s = |v: f32| {
            let mut b = Vec::new();
            write_number(v, &mut b);
            String::from_utf8(b).expect("ascii")
        };
        assert_eq!(s(0.0), "0");
        assert_eq!(s(12.0), "12");
        assert_eq!(s(-0.5), "-0.5");
        assert_eq!(s(65.45), "65.45");
        assert_eq!(s(725.932_43), "725.932");
        assert_eq!(s(0.0126), "0.013");
        assert_eq!(s(-0.000_1), "0");
        assert_eq!(s(f32::NAN), "0");
    }

    #[test]
    fn a_file_reads_back() {
        let mut bytes = Vec::new();
        {
            let mut w = Writer::new(&mut bytes).expect("header");
            let pages = w.reserve();
            let page = w.reserve();
            let mut content = Content::default();
            content.op("BT").name("F0").nums(&[12.0]).op("Tf");
            content.show([(1u16, 0.0), (2, -20.5), (3, 0.0)].into_iter());
            content.op("ET");
            let c = w
                .add_stream(Dictionary::new(), &content.bytes)
                .expect("content");
            let mut d = Dictionary::new();
            d.set("Type", Object::Name(b"Page".to_vec()));
            d.set("Parent", Object::Reference(pages));
            d.set("Contents", Object::Reference(c));
            d.set(
                "MediaBox",
                Object::Array(vec![0.into(), 0.into(), 100.into(), 100.into()]),
            );
            d.set("Title", Object::string_literal("a (b) \\ c"));
            w.put(page, &Object::Dictionary(d)).expect("page");
            let mut p = Dictionary::new();
            p.set("Type", Object::Name(b"Pages".to_vec()));
            p.set("Kids", Object::Array(vec![Object::Reference(page)]));
            p.set("Count", Object::Integer(1));
            w.put(pages, &Object::Dictionary(p)).expect("pages");
            let mut cat = Dictionary::new();
            cat.set("Type", Object::Name(b"Catalog".to_vec()));
            cat.set("Pages", Object::Reference(pages));
            let root = w.add(&Object::Dictionary(cat)).expect("catalog");
            let mut trailer = Dictionary::new();
            trailer.set("Root", Object::Reference(root));
            w.finish(trailer).expect("finish");
        }
        assert!(String::from_utf8_lossy(&bytes).contains("[<00010002>-20.5<0003>] TJ"));
        let doc = lopdf::Document::load_mem(&bytes).expect("lopdf reads it");
        assert_eq!(doc.get_pages().len(), 1);
        let page = doc.get_pages()[&1];
        let title = doc
            .get_dictionary(page)
            .and_then(|d| d.get(b"Title"))
            .and_then(Object::as_str)
            .expect("title");
        assert_eq!(title, b"a (b) \\ c");
    }

    #[test]
    fn unwritten_objects_are_an_error() {
        let mut bytes = Vec::new();
        let mut w = Writer::new(&mut bytes).expect("header");
        let _ = w.reserve();
        assert!(w.finish(Dictionary::new()).is_err());
    }
}
