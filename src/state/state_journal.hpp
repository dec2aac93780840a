#pragma once
// StateJournal: the embedded registry store's StoreJournal on the StateDb — stream keys (HMAC
// as hex, never a plaintext key), custom stream types and stream owner bindings survive a
// restart and a `kill -9`. `load_journal` reads them back at start.
#include "registry/memory_store.hpp"

namespace sluice::state {

class StateDb;

class StateJournal final : public registry::StoreJournal {
 public:
  explicit StateJournal(StateDb& db) : db_(db) {}  // `db` must outlive the journal

  Status save_key(const registry::KeyRecord& key) override;
  Status drop_key(const std::string& id) override;
  Status save_type(const registry::StreamTypeRecord& type) override;  // built-ins are skipped
  Status drop_type(const std::string& name) override;
  Status save_owner(const std::string& stream_id, const std::string& owner) override;
  Status drop_owner(const std::string& stream_id) override;

 private:
  StateDb& db_;
};

// Everything a journal wrote. Throws std::runtime_error naming the record that cannot be read.
registry::JournalContents load_journal(const StateDb& db);

// The JSON form of a key record in the state file (exposed for tests).
std::string key_to_json(const registry::KeyRecord& key);
Result<registry::KeyRecord> key_from_json(std::string_view text);

}  // namespace sluice::state
