# The widget's words in English: the reference every other language is checked against.
# The server reads these files at start, refuses to start on an error (naming the file and the line),
# and sends a visitor only their language: the first words with the widget's page, the rest with the
# chat. A key missing from another language falls back to the English one here.
#
# Variables: $position, $count (numbers), $name, $email (text, shown as text).

## Before the chat: the server writes these into the widget's page.

launcher-label = Chat with us
invitation =
    .aria-label = Chat invitation
invitation-accept = Chat now
invitation-decline = No thanks

## The panel's header.

status-connecting = Connecting you with our team…
status-waiting = Waiting for an agent · someone will be with you shortly
status-waiting-position = Waiting for an agent · you are number { $position }
status-agent = { $name } is here.
status-agent-unnamed = An agent is here.
status-offline = We'll get back to you here.
status-ended = This chat has ended.
ended-title = Chat ended
minimise = Minimise
    .aria-label = Minimise the chat
end-chat = End chat
close = Close
open-chat =
    { $count ->
        [0] Open the chat
        [one] Open the chat, { $count } new message
       *[other] Open the chat, { $count } new messages
    }

## Ending a chat.

end-question = End this chat? You can start a new one later.
keep-chatting = Keep chatting
thanks = Thank you for talking to us.
start-new-chat = Start a new chat
ended-hint = This chat has ended. Close it to go back to the page.

## The conversation.

messages = Messages
new-message = New message ↓
you = You
typing = { $name } is typing…
sending = Sending…
delivered = Delivered
composer = Type your message
    .aria-label = Message
send = Send
reconnecting = Reconnecting… Your messages are kept and go out once we're back.

## What happened in the conversation, said by Beckon.

note-monitoring = A supervisor is monitoring the conversation.
note-joined = A supervisor joined the conversation.
note-left = The supervisor left the conversation.
note-force-closed = A supervisor ended this conversation.

## When the server refuses something.

error-rate-limited = You're sending messages quickly. We'll send yours in a moment.
error-too-long = That message is too long. Please shorten it and send it again.
error-empty = Please write a message first.
error-ended = This chat has ended.
error-other = Sorry, something went wrong on our side. Please try again in a moment.
error-offline-rate-limited = You have sent several messages already. Please wait a moment before sending another.
error-offline-bad-request = Please check your name, your email address and your message.
error-offline-duplicate = You have already left a message for this chat.

## The offline message form.

offline-name = Your name (optional)
    .aria-label = Your name
offline-email = Your email
offline-message = Your message
offline-send = Leave a message
offline-stored = Thank you. We will write back to { $email }.
