//! Making children: `child_token` (one parent) and `any_of` (several).

use super::{CANCELLED, CancelReason, DECIDED, HAS_CHILDREN, LINKED, NO_SLOT, Node, NodeRef};

impl Node {
    /// Makes a child linked to `parent` (or born cancelled if it is).
    pub(crate) fn new_child(parent: &NodeRef) -> NodeRef {
        // The child's count of its parent.
        parent.count();
        let parent_ptr = Some(parent.as_non_null());
        let mut inner = parent.lock();
        let state = parent.flag(HAS_CHILDREN);
        if state & DECIDED != 0 {
            drop(inner);
            let born = CANCELLED | Node::inherited_kind(state);
            return NodeRef::new(Node::with_parent(parent_ptr, NO_SLOT, born));
        }
        let children = inner.children.get_or_insert_with(Default::default);
        let slot = children.next_index();
        let child = NodeRef::new(Node::with_parent(parent_ptr, slot, 0));
        let inserted = children.insert(child.as_non_null());
        debug_assert_eq!(inserted, slot);
        child
    }

    /// Makes a node cancelled as soon as any of `parents` is.
    pub(crate) fn new_linked(parents: &[&NodeRef]) -> NodeRef {
        if parents.is_empty() {
            return Node::new_root();
        }
        let node = NodeRef::new(Node::with_parent(None, NO_SLOT, LINKED));
        for parent in parents {
            let mut inner = parent.lock();
            let state = parent.flag(HAS_CHILDREN);
            if state & DECIDED != 0 {
                drop(inner);
                let reason = parent
                    .reason_once(DECIDED)
                    .unwrap_or(CancelReason::Cancelled);
                Node::cancel(&node, reason);
                return node;
            }
            let children = inner.children.get_or_insert_with(Default::default);
            let slot = children.insert(node.as_non_null());
            drop(inner);
            // The link's count of `parent`.
            parent.count();
            // From here on `parent` may cancel `node` at any moment; that is
            // fine, the link below only serves unlinking and `deadline()`.
            let mut ours = node.lock();
            let extra = ours.extra.get_or_insert_with(Default::default);
            extra.links.push((parent.as_non_null(), slot));
        }
        node
    }
}
