// Converts the device's local history (tools/client/history.h) into ChatModel::Preload input:
// the chat list (title, my read position) and the newest messages of each chat, with the
// ticks the history recorded. My pending sends are left out (the UI takes them from the
// ClientState, which is where the SDK resends them from); refused ones are kept as failed.
//
// Thread safety: plain function; the History belongs to the caller's thread.
#pragma once

#include <cstddef>

#include "tools/client/history.h"
#include "tools/ui/chat_model.h"

namespace tern::ui {

// Preloads `model` from `history`: at most `max_chats` chats, `per_chat` messages each.
// Errors: the history's (the model then holds what was read before the error).
Status PreloadFromHistory(tools::History& history, ChatModel& model, size_t max_chats = 200, size_t per_chat = 100);

}  // namespace tern::ui
