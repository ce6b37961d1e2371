//! The rules that need other rows: the category tree (children, ancestors, no cycles, at most
//! [`MAX_CATEGORY_DEPTH`] levels, decisions.md item 11) and messages cited by a customer's rows
//! being that customer's.

use uuid::Uuid;

use super::Karen;
use crate::entity::Entity;
use crate::error::{StoreError, StoreResult};
use crate::model::category::MAX_CATEGORY_DEPTH;
use crate::model::{Conversation, ServiceCategory};
use crate::store::Store;
use crate::value::{Record, Value};

impl<S: Store> Karen<S> {
    /// Children of a category, or the roots for `None`.
    pub async fn category_children(&self, parent: Option<Uuid>) -> StoreResult<Vec<ServiceCategory>> {
        if let Some(p) = parent {
            self.store.get::<ServiceCategory>(p).await?;
        }
        self.store.category_children(parent).await
    }

    /// Ancestors of a category, nearest first.
    pub async fn category_ancestors(&self, id: Uuid) -> StoreResult<Vec<ServiceCategory>> {
        self.store.category_ancestors(id).await
    }

    /// The rules a new row must meet that need other rows: for an entity in a tree
    /// ([`Entity::TREE_PARENT`]), its parent's; for one citing messages
    /// ([`Entity::SAME_CUSTOMER`]), that they are its customer's.
    /// `record` is the entity's ([`super::checked`] returns it).
    pub(crate) async fn check_relations<E: Entity>(&self, entity: &E, record: &Record) -> StoreResult<()> {
        if E::TREE_PARENT.is_none() && E::SAME_CUSTOMER.is_empty() {
            return Ok(());
        }
        let uuid = |name: &str| match record.values.iter().find(|(n, _)| *n == name) {
            Some((_, Value::Uuid(u))) => Some(*u),
            _ => None,
        };
        if let Some(field) = E::TREE_PARENT {
            self.check_tree_parent(field, entity.id(), uuid(field)).await?;
        }
        if let Some(customer) = uuid("customer_id") {
            for field in E::SAME_CUSTOMER {
                self.check_same_customer(field, customer, uuid(field)).await?;
            }
        }
        Ok(())
    }

    /// A message cited in `field` of a row of `customer` is that customer's; a message that
    /// does not exist is a missing reference.
    pub(crate) async fn check_same_customer(
        &self,
        field: &str,
        customer: Uuid,
        message: Option<Uuid>,
    ) -> StoreResult<()> {
        let Some(message) = message else { return Ok(()) };
        match self.store.get::<Conversation>(message).await {
            Ok(m) if m.customer_id == customer => Ok(()),
            Ok(_) => Err(StoreError::invalid(field, "must be a message of the same customer")),
            Err(StoreError::NotFound { .. }) => Err(StoreError::missing_reference(field)),
            Err(e) => Err(e),
        }
    }

    /// The category tree has no cycles and is at most [`MAX_CATEGORY_DEPTH`] deep
    /// (decisions.md item 11), counting the subtree that moves with `id`; `field` names the
    /// parent field in errors.
    pub(crate) async fn check_tree_parent(&self, field: &str, id: Uuid, parent: Option<Uuid>) -> StoreResult<()> {
        let Some(parent) = parent else { return Ok(()) };
        if parent == id {
            return Err(StoreError::invalid(field, "a category cannot be its own parent"));
        }
        let ancestors = match self.store.category_ancestors(parent).await {
            Ok(a) => a,
            Err(StoreError::NotFound { .. }) => return Err(StoreError::missing_reference(field)),
            Err(e) => return Err(e),
        };
        if ancestors.iter().any(|a| a.id == id) {
            return Err(StoreError::invalid(field, "would make the category its own ancestor (a cycle)"));
        }
        let parent_depth = ancestors.len() + 1;
        let subtree = self.subtree_height(id).await?;
        if parent_depth + subtree > MAX_CATEGORY_DEPTH {
            return Err(StoreError::invalid(
                field,
                format!("the category tree may be at most {MAX_CATEGORY_DEPTH} levels deep"),
            ));
        }
        Ok(())
    }

    /// Levels in the subtree rooted at `id` (1 for a leaf or a category not yet stored).
    async fn subtree_height(&self, id: Uuid) -> StoreResult<usize> {
        let mut level = vec![id];
        let mut height = 0;
        while !level.is_empty() && height <= MAX_CATEGORY_DEPTH {
            height += 1;
            let mut next = Vec::new();
            for node in level {
                next.extend(self.store.category_children(Some(node)).await?.into_iter().map(|c| c.id));
            }
            level = next;
        }
        Ok(height)
    }
}
