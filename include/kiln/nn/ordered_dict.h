#pragma once
/// kiln::OrderedDict: keys in insertion order with lookup by key, as LibTorch's
/// torch::OrderedDict (what named_parameters() and named_children() return).
#include <string>
#include <utility>
#include <vector>

#include "kiln/error.h"

namespace kiln {

template <typename Key, typename Value>
class OrderedDict {
public:
    /// One entry; key() and value() as in LibTorch.
    class Item {
    public:
        Item(Key key, Value value) : pair_(std::move(key), std::move(value)) {}
        const Key& key() const { return pair_.first; }
        Value& value() { return pair_.second; }
        const Value& value() const { return pair_.second; }
        const std::pair<Key, Value>& pair() const { return pair_; }

    private:
        std::pair<Key, Value> pair_;
    };

    /// Appends an entry; a key that is already present is a kiln::ValueError.
    Value& insert(Key key, Value value) {
        if (contains(key)) throw ValueError("OrderedDict: the key '" + key + "' is already present");
        items_.emplace_back(std::move(key), std::move(value));
        return items_.back().value();
    }

    /// The value of `key`, or nullptr.
    const Value* find(const Key& key) const {
        for (const Item& item : items_)
            if (item.key() == key) return &item.value();
        return nullptr;
    }
    bool contains(const Key& key) const { return find(key) != nullptr; }
    /// The value of `key`; a missing key is a kiln::ValueError naming it.
    const Value& operator[](const Key& key) const {
        if (const Value* v = find(key)) return *v;
        throw ValueError("OrderedDict: no key '" + key + "'");
    }

    std::vector<Key> keys() const {
        std::vector<Key> out;
        for (const Item& item : items_) out.push_back(item.key());
        return out;
    }
    std::vector<Value> values() const {
        std::vector<Value> out;
        for (const Item& item : items_) out.push_back(item.value());
        return out;
    }
    const std::vector<Item>& items() const { return items_; }

    size_t size() const { return items_.size(); }
    bool is_empty() const { return items_.empty(); }
    typename std::vector<Item>::const_iterator begin() const { return items_.begin(); }
    typename std::vector<Item>::const_iterator end() const { return items_.end(); }

private:
    std::vector<Item> items_;
};

}  // namespace kiln
