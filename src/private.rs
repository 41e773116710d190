//! Files flightdeck writes hold the record, logs and database dumps: they
//! are private (files 0600, directories 0700) whatever the umask. Modes are
//! set explicitly where each file is created rather than by changing the
//! process umask, which step commands would inherit (a build's artifacts
//! are the runbook's business, not ours). SQLite creates a journal's -wal
//! and -shm with the database file's own mode, so creating the database
//! file 0600 first covers them.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub const FILE_MODE: u32 = 0o600;
pub const DIR_MODE: u32 = 0o700;

/// Create `dir` and any missing parents with mode 0700. Directories that
/// already exist are left as they are (they may be shared, e.g. /tmp).
pub fn create_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
}

/// Open `path` for appending, creating it 0600; an existing file that is
/// readable by others is made private.
pub fn open_append(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(FILE_MODE)
        .open(path)?;
    tighten_file(&f)?;
    Ok(f)
}

/// Create `path` (or truncate it) with mode 0600, for a file another
/// program fills in (pg_dump keeps the mode of a file it overwrites).
pub fn create_truncate(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    tighten_file(&f)?;
    Ok(f)
}

/// Write `bytes` to `path`, 0600.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> io::Result<()> {
    use std::io::Write;
    create_truncate(path)?.write_all(bytes.as_ref())
}

/// Make an existing file private; a missing one is fine.
pub fn tighten(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn tighten_file(f: &File) -> io::Result<()> {
    let m = f.metadata()?;
    if m.permissions().mode() & 0o077 != 0 {
        f.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_whatever_was_there() {
        let dir = std::env::temp_dir().join(format!("fd-private-{}", std::process::id()));
        let sub = dir.join("a/b");
        create_dir(&sub).unwrap();
        assert_eq!(mode(&dir.join("a")), 0o700);
        assert_eq!(mode(&sub), 0o700);
        let f = sub.join("log");
        std::fs::write(&f, "x").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        open_append(&f).unwrap();
        assert_eq!(mode(&f), 0o600);
        write(&sub.join("new"), "y").unwrap();
        assert_eq!(mode(&sub.join("new")), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
