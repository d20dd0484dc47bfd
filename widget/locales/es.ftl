# Las palabras del widget en español.

## Antes del chat.

launcher-label = Chatea con nosotros
invitation =
    .aria-label = Invitación al chat
invitation-accept = Chatear ahora
invitation-decline = No, gracias

## La cabecera del panel.

status-connecting = Te estamos conectando con nuestro equipo…
status-waiting = Esperando a un agente · alguien te atenderá en breve
status-waiting-position = Esperando a un agente · eres el número { $position }
status-agent = { $name } está aquí.
status-agent-unnamed = Un agente está aquí.
status-offline = Te responderemos aquí.
status-ended = Este chat ha finalizado.
ended-title = Chat finalizado
minimise = Minimizar
    .aria-label = Minimizar el chat
end-chat = Finalizar chat
close = Cerrar
open-chat =
    { $count ->
        [0] Abrir el chat
        [one] Abrir el chat, { $count } mensaje nuevo
       *[other] Abrir el chat, { $count } mensajes nuevos
    }

## Finalizar un chat.

end-question = ¿Finalizar este chat? Puedes empezar otro más tarde.
keep-chatting = Seguir chateando
thanks = Gracias por hablar con nosotros.
start-new-chat = Empezar un chat nuevo
ended-hint = Este chat ha finalizado. Ciérralo para volver a la página.

## La conversación.

messages = Mensajes
new-message = Mensaje nuevo ↓
you = Tú
typing = { $name } está escribiendo…
sending = Enviando…
delivered = Entregado
composer = Escribe tu mensaje
    .aria-label = Mensaje
send = Enviar
reconnecting = Reconectando… Tus mensajes se guardan y se enviarán en cuanto volvamos.

## Lo que ha pasado en la conversación.

note-monitoring = Un supervisor está siguiendo la conversación.
note-joined = Un supervisor se ha unido a la conversación.
note-left = El supervisor ha salido de la conversación.
note-force-closed = Un supervisor ha finalizado esta conversación.

## Cuando el servidor rechaza algo.

error-rate-limited = Estás enviando mensajes muy rápido. Enviaremos el tuyo en un momento.
error-too-long = Ese mensaje es demasiado largo. Acórtalo y vuelve a enviarlo.
error-empty = Escribe un mensaje primero.
error-ended = Este chat ha finalizado.
error-other = Lo sentimos, algo ha fallado por nuestra parte. Inténtalo de nuevo en un momento.
error-offline-rate-limited = Ya has enviado varios mensajes. Espera un momento antes de enviar otro.
error-offline-bad-request = Revisa tu nombre, tu correo electrónico y tu mensaje.
error-offline-duplicate = Ya has dejado un mensaje para este chat.

## El formulario de mensaje sin conexión.

offline-name = Tu nombre (opcional)
    .aria-label = Tu nombre
offline-email = Tu correo electrónico
offline-message = Tu mensaje
offline-send = Dejar un mensaje
offline-stored = Gracias. Te responderemos en { $email }.
