//! Plain-text tables for the terminal: columns padded to the widest cell.
//!
//! Widths count characters, not bytes, so `°C` and `×` line up. Numbers are
//! right-aligned when a column asks for it; the last column is never padded,
//! so lines carry no trailing spaces.

use std::io::{self, Write};

/// How a column's cells line up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Align {
    /// Text: padded on the right.
    Left,
    /// Numbers: padded on the left.
    Right,
}

/// A table with a header row.
#[derive(Clone, Debug)]
pub(crate) struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
    show_header: bool,
}

impl Table {
    /// A table with these column headers, all left-aligned.
    pub(crate) fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Table {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = vec![Align::Left; headers.len()];
        Table {
            headers,
            align,
            rows: Vec::new(),
            show_header: true,
        }
    }

    /// A table of `columns` columns whose header line is not printed.
    pub(crate) fn headerless(columns: usize) -> Table {
        Table {
            show_header: false,
            ..Table::new(vec![String::new(); columns])
        }
    }

    /// Right-aligns the given columns (0-based).
    pub(crate) fn right(mut self, columns: impl IntoIterator<Item = usize>) -> Table {
        for c in columns {
            if let Some(a) = self.align.get_mut(c) {
                *a = Align::Right;
            }
        }
        self
    }

    /// Adds a row; missing cells are blank, extra cells are kept.
    pub(crate) fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// True when no row has been added.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Writes the header and the rows, each line starting with `indent` spaces.
    pub(crate) fn write(&self, out: &mut dyn Write, indent: usize) -> io::Result<()> {
        self.write_with(out, indent, |_, _| Ok(()))
    }

    /// Like [`Table::write`], calling `after_row(i, out)` after row `i` so
    /// that details can be printed beneath each row without breaking the
    /// columns.
    pub(crate) fn write_with(
        &self,
        out: &mut dyn Write,
        indent: usize,
        mut after_row: impl FnMut(usize, &mut dyn Write) -> io::Result<()>,
    ) -> io::Result<()> {
        let widths = self.widths();
        if self.show_header {
            self.write_line(out, indent, &self.headers, &widths)?;
        }
        for (i, row) in self.rows.iter().enumerate() {
            self.write_line(out, indent, row, &widths)?;
            after_row(i, out)?;
        }
        Ok(())
    }

    /// The width of each column, in characters.
    fn widths(&self) -> Vec<usize> {
        let columns = self
            .rows
            .iter()
            .map(Vec::len)
            .chain([self.headers.len()])
            .max()
            .unwrap_or(0);
        let mut widths = vec![0usize; columns];
        let header = self.show_header.then_some(&self.headers);
        for line in header.into_iter().chain(&self.rows) {
            for (i, cell) in line.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        widths
    }

    fn write_line(&self, out: &mut dyn Write, indent: usize, line: &[String], widths: &[usize]) -> io::Result<()> {
        let mut text = " ".repeat(indent);
        for (i, width) in widths.iter().enumerate() {
            let cell = line.get(i).map_or("", String::as_str);
            if i > 0 {
                text.push_str("  ");
            }
            let fill = " ".repeat(width.saturating_sub(cell.chars().count()));
            match self.align.get(i).copied().unwrap_or(Align::Left) {
                Align::Right => {
                    text.push_str(&fill);
                    text.push_str(cell);
                }
                Align::Left => {
                    text.push_str(cell);
                    text.push_str(&fill);
                }
            }
        }
        writeln!(out, "{}", text.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(table: &Table, indent: usize) -> String {
        let mut out = Vec::new();
        table.write(&mut out, indent).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn pads_columns_to_the_widest_cell_in_characters() {
        let mut t = Table::new(["name", "value"]).right([1]);
        t.row(["temperature", "38.5 °C"]);
        t.row(["pulse", "72"]);
        assert_eq!(
            render(&t, 2),
            "  name           value\n  temperature  38.5 °C\n  pulse             72\n"
        );
    }

    #[test]
    fn a_headerless_table_prints_only_its_rows() {
        let mut t = Table::headerless(2).right([0]);
        t.row(["1.5", "care plan"]);
        t.row(["10", "support"]);
        assert_eq!(render(&t, 1), " 1.5  care plan\n  10  support\n");
    }

    #[test]
    fn blank_cells_leave_no_trailing_spaces() {
        let mut t = Table::new(["a", "b"]);
        t.row(["long cell", ""]);
        assert_eq!(render(&t, 0), "a          b\nlong cell\n");
    }
}
