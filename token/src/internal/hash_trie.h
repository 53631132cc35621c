// An immutable hash set with structural sharing (a hash array mapped trie): adding one entry copies
// one small leaf and the few branch nodes above it, whatever the size of the set.
//
// Branches have 32 children (5 bits of the hash per level); leaves hold up to kLeafMax entries,
// with an 8-bit fingerprint of each entry's hash kept in the leaf itself, so that a lookup that
// finds nothing (the common case: a token not revoked) reads the leaf's first cache lines and
// never its entries. A leaf that outgrows kLeafMax becomes a branch one level down. At a million
// random keys the trie is three branches deep.
//
// Traits:
//   using Entry = ...;                         // what is stored
//   using Key = ...;                           // what lookups pass (a cheap view)
//   static Key KeyOf(const Entry&);
//   static size_t Hash(Key);                   // equal keys, equal hashes
//   static bool Equal(Key, Key);
//   static void Merge(Entry* kept, Entry&& added);  // the same key added again
//
// Example:
//   HashTrie<MyTraits> set;
//   {
//     HashTrie<MyTraits>::Editor editor(&set);  // nodes it makes are changed in place until done
//     editor.Insert(entry);
//   }
//   const MyTraits::Entry* found = set.Find(key);
#ifndef SIGNET_TOKEN_SRC_INTERNAL_HASH_TRIE_H_
#define SIGNET_TOKEN_SRC_INTERNAL_HASH_TRIE_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace signet::internal {

template <typename Traits>
class HashTrie {
 public:
  using Entry = typename Traits::Entry;
  using Key = typename Traits::Key;

  static constexpr int kBits = 5;
  static constexpr size_t kFanout = size_t{1} << kBits;
  static constexpr size_t kLeafMax = 64;
  // 12 levels use 60 bits of the hash; below them leaves grow without bound (full collisions).
  static constexpr int kMaxDepth = 12;

 private:
  struct Node {
    Node(uint64_t edit, bool leaf) : edit(edit), leaf(leaf) {}
    uint64_t edit;  // The editor that may change this node in place (0: none).
    bool leaf;
  };
  struct Branch : Node {
    explicit Branch(uint64_t edit) : Node(edit, false) {}
    std::array<std::shared_ptr<Node>, kFanout> children;
  };
  struct Leaf : Node {
    explicit Leaf(uint64_t edit) : Node(edit, true) {}
    std::array<uint8_t, kLeafMax> tags{};  // Tag(hash) of entries[i], for i < kLeafMax.
    std::vector<Entry> entries;
  };

 public:
  size_t size() const { return size_; }

  const Entry* Find(Key key) const {
    const size_t hash = Traits::Hash(key);
    const Node* node = root_.get();
    for (int depth = 0; node != nullptr && !node->leaf; ++depth) {
      node = static_cast<const Branch*>(node)->children[SlotOf(hash, depth)].get();
    }
    if (node == nullptr) return nullptr;
    const Leaf* leaf = static_cast<const Leaf*>(node);
    const uint8_t tag = Tag(hash);
    const size_t n = leaf->entries.size();
    const size_t tagged = std::min(n, kLeafMax);
    for (size_t i = 0; i < tagged; ++i) {
      if (leaf->tags[i] == tag && Traits::Equal(Traits::KeyOf(leaf->entries[i]), key)) {
        return &leaf->entries[i];
      }
    }
    for (size_t i = tagged; i < n; ++i) {  // Full collisions past kMaxDepth only.
      if (Traits::Equal(Traits::KeyOf(leaf->entries[i]), key)) return &leaf->entries[i];
    }
    return nullptr;
  }

  // Calls f(entry) for every entry, in no particular order.
  template <typename F>
  void ForEach(F&& f) const {
    ForEachIn(root_.get(), f);
  }

  // A trie without the entries for which expired(entry) is true; nodes without any are shared.
  template <typename Pred>
  HashTrie Without(Pred&& expired) const {
    HashTrie out;
    size_t removed = 0;
    out.root_ = Prune(root_, expired, &removed);
    out.size_ = size_ - removed;
    return out;
  }

  // Adds entries to a trie: the first change to a node shared with other tries copies it; nodes
  // this editor made or copied are changed in place. The trie must not be read by other threads
  // while an editor is open on it.
  class Editor {
   public:
    explicit Editor(HashTrie* trie) : trie_(trie), edit_(NextEdit()) {}
    ~Editor() { Trim(trie_->root_.get()); }
    Editor(const Editor&) = delete;
    Editor& operator=(const Editor&) = delete;

    void Insert(Entry entry) {
      const size_t hash = Traits::Hash(Traits::KeyOf(entry));
      const uint8_t tag = Tag(hash);
      std::shared_ptr<Node>* slot = &trie_->root_;
      if (*slot == nullptr) *slot = std::make_shared<Leaf>(edit_);
      Node* node = Own(slot);
      for (int depth = 0;; ++depth) {
        if (node->leaf) {
          Leaf* leaf = static_cast<Leaf*>(node);
          for (size_t i = 0; i < leaf->entries.size(); ++i) {
            if ((i >= kLeafMax || leaf->tags[i] == tag) &&
                Traits::Equal(Traits::KeyOf(leaf->entries[i]), Traits::KeyOf(entry))) {
              Traits::Merge(&leaf->entries[i], std::move(entry));
              return;
            }
          }
          if (leaf->entries.size() < kLeafMax || depth >= kMaxDepth) {
            if (leaf->entries.size() < kLeafMax) leaf->tags[leaf->entries.size()] = tag;
            leaf->entries.push_back(std::move(entry));
            ++trie_->size_;
            return;
          }
          node = Split(slot, depth);
        }
        slot = &static_cast<Branch*>(node)->children[SlotOf(hash, depth)];
        if (*slot == nullptr) *slot = std::make_shared<Leaf>(edit_);
        node = Own(slot);
      }
    }

   private:
    // The node in *slot, copied first unless this editor made it.
    Node* Own(std::shared_ptr<Node>* slot) {
      if ((*slot)->edit != edit_) {
        std::shared_ptr<Node> copy;
        if ((*slot)->leaf) {
          copy = std::make_shared<Leaf>(static_cast<const Leaf&>(**slot));
        } else {
          copy = std::make_shared<Branch>(static_cast<const Branch&>(**slot));
        }
        copy->edit = edit_;
        *slot = std::move(copy);
      }
      return slot->get();
    }

    // Replaces the full leaf in *slot (at `depth`, owned) by a branch of leaves one level down.
    Node* Split(std::shared_ptr<Node>* slot, int depth) {
      Leaf* leaf = static_cast<Leaf*>(slot->get());
      auto branch = std::make_shared<Branch>(edit_);
      for (size_t i = 0; i < leaf->entries.size(); ++i) {
        const size_t hash = Traits::Hash(Traits::KeyOf(leaf->entries[i]));
        std::shared_ptr<Node>& child = branch->children[SlotOf(hash, depth)];
        if (child == nullptr) child = std::make_shared<Leaf>(edit_);
        Leaf* to = static_cast<Leaf*>(child.get());
        to->tags[to->entries.size()] = leaf->tags[i];
        to->entries.push_back(std::move(leaf->entries[i]));
      }
      *slot = branch;
      return branch.get();
    }

    // Gives back the spare capacity of the leaves this editor grew.
    void Trim(Node* node) {
      if (node == nullptr || node->edit != edit_) return;
      if (node->leaf) {
        static_cast<Leaf*>(node)->entries.shrink_to_fit();
        return;
      }
      for (const auto& child : static_cast<Branch*>(node)->children) Trim(child.get());
    }

    static uint64_t NextEdit() {
      static std::atomic<uint64_t> next{1};
      return next.fetch_add(1, std::memory_order_relaxed);
    }

    HashTrie* const trie_;
    const uint64_t edit_;
  };

 private:
  static size_t SlotOf(size_t hash, int depth) {
    return static_cast<size_t>((static_cast<uint64_t>(hash) >> (kBits * depth)) & (kFanout - 1));
  }
  static uint8_t Tag(size_t hash) {
    return static_cast<uint8_t>(static_cast<uint64_t>(hash) >> 56);
  }

  template <typename F>
  static void ForEachIn(const Node* node, F& f) {
    if (node == nullptr) return;
    if (node->leaf) {
      for (const Entry& e : static_cast<const Leaf*>(node)->entries) f(e);
      return;
    }
    for (const auto& child : static_cast<const Branch*>(node)->children) ForEachIn(child.get(), f);
  }

  template <typename Pred>
  static std::shared_ptr<Node> Prune(const std::shared_ptr<Node>& node, Pred& expired,
                                     size_t* removed) {
    if (node == nullptr) return nullptr;
    if (node->leaf) {
      const Leaf& leaf = static_cast<const Leaf&>(*node);
      size_t gone = 0;
      for (const Entry& e : leaf.entries) gone += expired(e) ? 1 : 0;
      if (gone == 0) return node;
      *removed += gone;
      if (gone == leaf.entries.size()) return nullptr;
      auto kept = std::make_shared<Leaf>(0);
      kept->entries.reserve(leaf.entries.size() - gone);
      for (size_t i = 0; i < leaf.entries.size(); ++i) {
        if (expired(leaf.entries[i])) continue;
        const size_t at = kept->entries.size();
        if (at < kLeafMax) {
          kept->tags[at] =
              i < kLeafMax ? leaf.tags[i] : Tag(Traits::Hash(Traits::KeyOf(leaf.entries[i])));
        }
        kept->entries.push_back(leaf.entries[i]);
      }
      return kept;
    }
    const Branch& branch = static_cast<const Branch&>(*node);
    std::shared_ptr<Branch> pruned;
    bool any = false;
    for (size_t i = 0; i < kFanout; ++i) {
      std::shared_ptr<Node> child = Prune(branch.children[i], expired, removed);
      if (child != branch.children[i] && pruned == nullptr) {
        pruned = std::make_shared<Branch>(branch);
        pruned->edit = 0;
      }
      if (pruned != nullptr) pruned->children[i] = child;
      any |= child != nullptr;
    }
    if (!any) return nullptr;
    return pruned != nullptr ? pruned : node;
  }

  std::shared_ptr<Node> root_;
  size_t size_ = 0;
};

}  // namespace signet::internal

#endif  // SIGNET_TOKEN_SRC_INTERNAL_HASH_TRIE_H_
