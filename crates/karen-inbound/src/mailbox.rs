//! The messages of the paths `karen ingest email` is given: single `.eml` files, mbox files
//! (streamed, one message at a time) and Maildir folders (`cur/` and `new/`), each message with
//! where it came from, in a stable order so a rerun reads the same sequence.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// One message read from a mailbox, or why it could not be read.
pub struct Item {
    /// Where it came from: the file, and the message number in an mbox.
    pub source: String,
    /// Its raw bytes, or the I/O error reading them.
    pub bytes: std::io::Result<Vec<u8>>,
}

/// What a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory with `cur/`, `new/` or `tmp/`.
    Maildir,
    /// A file whose first line starts with `From ` (mboxo/mboxrd).
    Mbox,
    /// Any other file: one message.
    Eml,
}

/// What `path` holds: a Maildir, an mbox, or a single message.
pub fn kind(path: &Path) -> std::io::Result<Kind> {
    if path.is_dir() {
        if ["cur", "new", "tmp"].iter().any(|d| path.join(d).is_dir()) {
            return Ok(Kind::Maildir);
        }
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is a directory but not a Maildir (no cur/, new/ or tmp/)", path.display()),
        ));
    }
    let mut first = [0u8; 5];
    let n = File::open(path)?.read(&mut first)?;
    Ok(if n == 5 && &first == b"From " { Kind::Mbox } else { Kind::Eml })
}

/// The message files of a Maildir (`new/` then `cur/`), sorted by name.
pub fn maildir_files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let dir = path.join(sub);
        if !dir.is_dir() {
            continue;
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        out.extend(files);
    }
    Ok(out)
}

/// The messages of an mbox, one at a time: lines up to the next `From ` line, with mboxrd's
/// `>From ` quoting undone.
pub struct Mbox<R> {
    reader: R,
    source: String,
    number: usize,
    pending: Option<Vec<u8>>,
    done: bool,
}

impl Mbox<BufReader<File>> {
    /// Opens an mbox file.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Mbox::new(BufReader::with_capacity(1 << 20, File::open(path)?), path.display().to_string()))
    }
}

impl<R: BufRead> Mbox<R> {
    /// Reads an mbox from `reader`; `source` names it in each item.
    pub fn new(reader: R, source: String) -> Self {
        Mbox { reader, source, number: 0, pending: None, done: false }
    }
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        if self.done {
            return None;
        }
        let mut line = Vec::with_capacity(128);
        loop {
            line.clear();
            match self.reader.read_until(b'\n', &mut line) {
                Err(e) => {
                    self.done = true;
                    return Some(Item { source: self.source.clone(), bytes: Err(e) });
                }
                Ok(0) => {
                    self.done = true;
                    let last = self.pending.take()?;
                    self.number += 1;
                    return Some(Item { source: format!("{}#{}", self.source, self.number), bytes: Ok(last) });
                }
                Ok(_) if line.starts_with(b"From ") => {
                    if let Some(done) = self.pending.replace(Vec::with_capacity(4096)) {
                        self.number += 1;
                        return Some(Item { source: format!("{}#{}", self.source, self.number), bytes: Ok(done) });
                    }
                }
                Ok(_) => {
                    let Some(buf) = self.pending.as_mut() else { continue };
                    // mboxrd: one '>' was added before lines that read ">*From ".
                    let body = line.iter().position(|b| *b != b'>').map(|i| &line[i..]);
                    if line.first() == Some(&b'>') && body.is_some_and(|b| b.starts_with(b"From ")) {
                        buf.extend_from_slice(&line[1..]);
                    } else {
                        buf.extend_from_slice(&line);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_messages_split_at_from_lines_and_unquote() {
        let text = "From a@example.com Mon Jan  1 00:00:00 2026\nSubject: one\n\nhi\n>From the start\n\nFrom b@example.com Tue Jan  2 00:00:00 2026\nSubject: two\n\nbye\n";
        let items: Vec<Item> = Mbox::new(text.as_bytes(), "m".into()).collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].source, "m#1");
        let first = String::from_utf8(items[0].bytes.as_ref().unwrap().clone()).unwrap();
        assert_eq!(first, "Subject: one\n\nhi\nFrom the start\n\n");
        assert!(String::from_utf8_lossy(items[1].bytes.as_ref().unwrap()).starts_with("Subject: two"));
        assert_eq!(Mbox::new(&b""[..], "e".into()).count(), 0);
    }
}
