# As palabras do widget en galego.

## Antes do chat.

launcher-label = Fala connosco
invitation =
    .aria-label = Invitación ao chat
invitation-accept = Falar agora
invitation-decline = Non, grazas

## A cabeceira do panel.

status-connecting = Estamos a conectarte coa nosa equipa…
status-waiting = Agardando por un axente · alguén te atenderá axiña
status-waiting-position = Agardando por un axente · es o número { $position }
status-agent = { $name } está aquí.
status-agent-unnamed = Un axente está aquí.
status-offline = Responderémosche aquí.
status-ended = Este chat rematou.
ended-title = Chat rematado
minimise = Minimizar
    .aria-label = Minimizar o chat
end-chat = Rematar o chat
close = Pechar
open-chat =
    { $count ->
        [0] Abrir o chat
        [one] Abrir o chat, { $count } mensaxe nova
       *[other] Abrir o chat, { $count } mensaxes novas
    }

## Rematar un chat.

end-question = Rematar este chat? Podes comezar outro máis tarde.
keep-chatting = Seguir falando
thanks = Grazas por falar connosco.
start-new-chat = Comezar un chat novo
ended-hint = Este chat rematou. Pécheo para volver á páxina.

## A conversa.

messages = Mensaxes
new-message = Mensaxe nova ↓
you = Ti
typing = { $name } está a escribir…
sending = Enviando…
delivered = Entregada
composer = Escribe a túa mensaxe
    .aria-label = Mensaxe
send = Enviar
reconnecting = Reconectando… As túas mensaxes gárdanse e enviaranse en canto volvamos.

## O que pasou na conversa.

note-monitoring = Un supervisor está a seguir a conversa.
note-joined = Un supervisor uniuse á conversa.
note-left = O supervisor deixou a conversa.
note-force-closed = Un supervisor rematou esta conversa.

## Cando o servidor rexeita algo.

error-rate-limited = Estás a enviar mensaxes moi rápido. Enviaremos a túa nun momento.
error-too-long = Esa mensaxe é demasiado longa. Acúrtaa e envíaa de novo.
error-empty = Escribe primeiro unha mensaxe.
error-ended = Este chat rematou.
error-other = Sentímolo, algo fallou pola nosa parte. Téntao de novo nun momento.
error-offline-rate-limited = Xa enviaches varias mensaxes. Agarda un momento antes de enviar outra.
error-offline-bad-request = Revisa o teu nome, o teu enderezo de correo e a túa mensaxe.
error-offline-duplicate = Xa deixaches unha mensaxe para este chat.

## O formulario de mensaxe sen conexión.

offline-name = O teu nome (opcional)
    .aria-label = O teu nome
offline-email = O teu enderezo de correo
offline-message = A túa mensaxe
offline-send = Deixar unha mensaxe
offline-stored = Grazas. Responderémosche en { $email }.
