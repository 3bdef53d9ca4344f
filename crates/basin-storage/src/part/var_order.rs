//! The order a block's variables are kept in, from part format 8: rows
//! grouped by skeleton number (ascending), in row order within a group.
//!
//! Rows stay sorted by stream and time, so the skeletons of neighbouring
//! rows alternate; in row order a variable column mixes the ids of one
//! skeleton with the sizes of another. Grouped, each column holds runs of
//! one skeleton's values, alike in length and shape, and zstd writes the
//! variable columns about a quarter smaller (loghub corpus, 3M lines). The
//! order follows from the `_tpl` column alone, so nothing else is stored.

/// Where each row's variables sit in a block's variable columns, and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarOrder {
    /// Per row, its position in the variable columns.
    position: Vec<u32>,
    /// Per position, its row.
    row: Vec<u32>,
}

/// Skeleton numbers below this are counted in a table; a block holding a
/// higher one (a part with more skeletons) is sorted instead.
const COUNTED_IDS: usize = 1 << 16;

impl VarOrder {
    /// The order of a block whose rows have skeleton numbers `ids`.
    pub fn of(ids: &[u32]) -> Self {
        let max = ids.iter().copied().max().map_or(0, |m| m as usize);
        let row: Vec<u32> = if max < COUNTED_IDS {
            // Counting sort: one pass to count, one to place.
            let mut next = vec![0u32; max + 2];
            for &id in ids {
                next[id as usize + 1] += 1;
            }
            for i in 1..next.len() {
                next[i] += next[i - 1];
            }
            let mut row = vec![0u32; ids.len()];
            for (r, &id) in ids.iter().enumerate() {
                let slot = &mut next[id as usize];
                row[*slot as usize] = r as u32;
                *slot += 1;
            }
            row
        } else {
            let mut keyed: Vec<u64> = ids
                .iter()
                .enumerate()
                .map(|(r, &id)| (u64::from(id) << 32) | r as u64)
                .collect();
            keyed.sort_unstable();
            keyed.into_iter().map(|k| k as u32).collect()
        };
        let mut position = vec![0u32; ids.len()];
        for (at, &r) in row.iter().enumerate() {
            position[r as usize] = at as u32;
        }
        Self { position, row }
    }

    /// The order of some rows' variables when only theirs are read: row
    /// `i` of the rows had its variables at `positions[i]` of its block
    /// (distinct), and a read of those positions returns them ascending.
    pub fn of_positions(positions: &[usize]) -> Self {
        let mut row: Vec<u32> = (0..positions.len() as u32).collect();
        row.sort_unstable_by_key(|&r| positions[r as usize]);
        let mut position = vec![0u32; positions.len()];
        for (at, &r) in row.iter().enumerate() {
            position[r as usize] = at as u32;
        }
        Self { position, row }
    }

    /// The position of row `row`'s variables.
    #[inline]
    pub fn position(&self, row: usize) -> usize {
        self.position.get(row).map_or(row, |&p| p as usize)
    }

    /// The row whose variables sit at `position`.
    #[inline]
    pub fn row(&self, position: usize) -> usize {
        self.row.get(position).map_or(position, |&r| r as usize)
    }

    /// Rows in the order their variables are kept.
    pub fn rows(&self) -> impl Iterator<Item = usize> + '_ {
        self.row.iter().map(|&r| r as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ids: &[u32]) {
        let order = VarOrder::of(ids);
        let rows: Vec<usize> = order.rows().collect();
        let mut want: Vec<usize> = (0..ids.len()).collect();
        want.sort_by_key(|&r| ids[r]);
        assert_eq!(rows, want, "{ids:?}");
        for r in 0..ids.len() {
            assert_eq!(order.row(order.position(r)), r);
        }
    }

    #[test]
    fn some_rows_find_their_variables_among_those_read() {
        let block = VarOrder::of(&[2, 1, 2, 1, 3]);
        let rows = [0, 3, 4];
        let positions: Vec<usize> = rows.iter().map(|&r| block.position(r)).collect();
        assert_eq!(positions, [2, 1, 4]);
        // Read ascending: positions 1, 2, 4.
        let some = VarOrder::of_positions(&positions);
        assert_eq!(some.position(0), 1);
        assert_eq!(some.position(1), 0);
        assert_eq!(some.position(2), 2);
        assert_eq!(some.rows().collect::<Vec<_>>(), [1, 0, 2]);
    }

    #[test]
    fn rows_group_by_skeleton_in_row_order() {
        check(&[]);
        check(&[0]);
        check(&[3, 1, 3, 0, 1, 2, 3, 0]);
        check(&[5, 5, 5, 5]);
        // Past the counted range: sorted, same order.
        check(&[70_000, 2, u32::MAX, 2, 70_000, 0]);
        let order = VarOrder::of(&[2, 1, 2, 1]);
        assert_eq!(order.rows().collect::<Vec<_>>(), [1, 3, 0, 2]);
        assert_eq!(order.position(0), 2);
    }
}
