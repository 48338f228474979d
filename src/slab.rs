//! A slab: values in numbered slots that never move, so a holder can find
//! its entry again by index without searching, and memory is given back when
//! the slab empties out.
//!
//! Used for a token's children (a child remembers its slot in its parent) and
//! for the waiters of an event (a future remembers its slot). Plain data: the
//! owner guards it with its own lock.

use alloc::vec::Vec;

/// Below this many slots a slab never bothers to shrink.
const KEEP: usize = 16;

/// Numbered slots; a freed slot is reused by the next insert.
///
/// Shrink rule: freeing the last slot cuts off every free slot at the end,
/// and once fewer than a quarter of the allocated slots remain in use (and
/// there are more than [`KEEP`]) the capacity shrinks to twice the length, so a burst of
/// insertions followed by removals gives its memory back. Live slots keep
/// their indices. Each step is amortized O(1).
///
/// The free list may hold indices past the end (cut off slots); they are
/// discarded when met. A new slot is pushed only when the free list is empty,
/// so such an index can never come back to life while still listed.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab; allocates nothing.
    pub(crate) const fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Drops free-list entries that point past the end.
    fn discard_stale(&mut self) {
        while self
            .free
            .last()
            .is_some_and(|&index| index >= self.slots.len())
        {
            self.free.pop();
        }
    }

    /// The index the next [`insert`](Slab::insert) will use.
    pub(crate) fn next_index(&mut self) -> usize {
        self.discard_stale();
        self.free.last().copied().unwrap_or(self.slots.len())
    }

    /// Stores `value`; returns its index.
    pub(crate) fn insert(&mut self, value: T) -> usize {
        self.discard_stale();
        match self.free.pop() {
            Some(index) => {
                self.slots[index] = Some(value);
                index
            }
            None => {
                self.slots.push(Some(value));
                self.slots.len() - 1
            }
        }
    }

    /// The value at `index`, if that slot is taken.
    #[cfg_attr(not(feature = "std"), allow(dead_code))] // used by shutdown (std)
    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.slots.get(index).and_then(Option::as_ref)
    }

    /// The value at `index`, if that slot is live.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.slots.get_mut(index).and_then(Option::as_mut)
    }

    /// Takes the value at `index` out, if that slot is live.
    #[inline]
    pub(crate) fn remove(&mut self, index: usize) -> Option<T> {
        let value = self.slots.get_mut(index)?.take()?;
        if index + 1 == self.slots.len() {
            // The last slot: cut it off, with every free slot before it
            // (each slot is cut at most once per push). Their free-list
            // entries go stale and are discarded when met.
            self.slots.pop();
            while matches!(self.slots.last(), Some(None)) {
                self.slots.pop();
            }
            if self.slots.is_empty() {
                self.free.clear();
            }
        } else {
            self.free.push(index);
        }
        if self.slots.capacity() > KEEP || self.free.capacity() > KEEP {
            self.shrink_if_sparse();
        }
        Some(value)
    }

    /// The live values, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.slots.iter().flatten()
    }

    /// Slots allocated (live or free), for tests of the shrink rule.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Takes every value out and gives the memory back.
    #[cfg(test)]
    pub(crate) fn take_all(&mut self) -> impl Iterator<Item = T> + use<T> {
        self.take_slots().into_iter().flatten()
    }

    /// How many slots there are, live or free (free slots at the end are
    /// always cut off, so for a slab with few values this is small).
    pub(crate) fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// Takes every value out, keeping the memory for the next values.
    pub(crate) fn drain_keeping_capacity(&mut self) -> impl Iterator<Item = T> + '_ {
        self.free.clear();
        self.slots.drain(..).flatten()
    }

    /// Takes the slots out as they are (free ones are `None`), leaving the
    /// slab empty and unallocated.
    pub(crate) fn take_slots(&mut self) -> Vec<Option<T>> {
        self.free = Vec::new();
        core::mem::take(&mut self.slots)
    }

    #[inline(never)]
    fn shrink_if_sparse(&mut self) {
        let cap = self.slots.capacity();
        if cap > KEEP && self.slots.len() * 4 < cap {
            self.slots.shrink_to((self.slots.len() * 2).max(KEEP));
        }
        if self.free.len() > 2 * self.slots.len() + KEEP {
            // Mostly stale entries: clean them out (amortized: the list at
            // least halves each time).
            let len = self.slots.len();
            self.free.retain(|&index| index < len);
        }
        let free_cap = self.free.capacity();
        if free_cap > KEEP && self.free.len() * 4 < free_cap {
            self.free.shrink_to((self.free.len() * 2).max(KEEP));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Slab;

    #[test]
    fn indices_stay_put_and_are_reused() {
        let mut slab = Slab::new();
        let a = slab.insert('a');
        let b = slab.insert('b');
        assert_eq!(slab.remove(a), Some('a'));
        assert_eq!(slab.next_index(), a);
        assert_eq!(slab.insert('c'), a);
        assert_eq!(slab.get_mut(b), Some(&mut 'b'));
        assert_eq!(slab.remove(a), Some('c'));
        assert_eq!(slab.remove(a), None, "a slot is removed once");
    }

    #[test]
    fn a_burst_gives_its_memory_back() {
        let mut slab = Slab::new();
        let keys: Vec<usize> = (0..10_000).map(|i| slab.insert(i)).collect();
        let survivor = keys[3];
        for &k in &keys {
            if k != survivor {
                slab.remove(k);
            }
        }
        assert!(slab.capacity() <= 64, "capacity {}", slab.capacity());
        assert_eq!(slab.get_mut(survivor), Some(&mut 3));
        slab.remove(survivor);
        assert!(slab.capacity() <= 16);
    }

    #[test]
    fn take_all_empties_and_frees() {
        let mut slab = Slab::new();
        for i in 0..100 {
            slab.insert(i);
        }
        slab.remove(5);
        let taken: Vec<i32> = slab.take_all().collect();
        assert_eq!(taken.len(), 99);
        assert_eq!(slab.capacity(), 0);
        assert_eq!(slab.insert(7), 0);
    }
}
