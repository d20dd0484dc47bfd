# Les mots du widget en français.

## Avant la discussion.

launcher-label = Discuter avec nous
invitation =
    .aria-label = Invitation à discuter
invitation-accept = Discuter
invitation-decline = Non merci

## L'en-tête du panneau.

status-connecting = Nous vous mettons en relation avec notre équipe…
status-waiting = En attente d'un conseiller · quelqu'un va vous répondre sous peu
status-waiting-position = En attente d'un conseiller · vous êtes en position { $position }
status-agent = { $name } est là.
status-agent-unnamed = Un conseiller est là.
status-offline = Nous vous répondrons ici.
status-ended = Cette discussion est terminée.
ended-title = Discussion terminée
minimise = Réduire
    .aria-label = Réduire la discussion
end-chat = Terminer
close = Fermer
open-chat =
    { $count ->
        [0] Ouvrir la discussion
        [one] Ouvrir la discussion, { $count } nouveau message
       *[other] Ouvrir la discussion, { $count } nouveaux messages
    }

## Terminer une discussion.

end-question = Terminer cette discussion ? Vous pourrez en commencer une autre plus tard.
keep-chatting = Continuer
thanks = Merci d'avoir discuté avec nous.
start-new-chat = Nouvelle discussion
ended-hint = Cette discussion est terminée. Fermez-la pour revenir à la page.

## La conversation.

messages = Messages
new-message = Nouveau message ↓
you = Vous
typing = { $name } écrit…
sending = Envoi…
delivered = Reçu
composer = Écrivez votre message
    .aria-label = Message
send = Envoyer
reconnecting = Reconnexion… Vos messages sont conservés et partiront dès le retour de la connexion.

## Ce qui s'est passé dans la conversation.

note-monitoring = Un superviseur suit la conversation.
note-joined = Un superviseur a rejoint la conversation.
note-left = Le superviseur a quitté la conversation.
note-force-closed = Un superviseur a mis fin à cette conversation.

## Quand le serveur refuse quelque chose.

error-rate-limited = Vous envoyez des messages rapidement. Le vôtre partira dans un instant.
error-too-long = Ce message est trop long. Raccourcissez-le et envoyez-le à nouveau.
error-empty = Écrivez d'abord un message.
error-ended = Cette discussion est terminée.
error-other = Désolé, un problème est survenu de notre côté. Réessayez dans un instant.
error-offline-rate-limited = Vous avez déjà envoyé plusieurs messages. Patientez un instant avant d'en envoyer un autre.
error-offline-bad-request = Vérifiez votre nom, votre adresse e-mail et votre message.
error-offline-duplicate = Vous avez déjà laissé un message pour cette discussion.

## Le formulaire de message hors ligne.

offline-name = Votre nom (facultatif)
    .aria-label = Votre nom
offline-email = Votre adresse e-mail
offline-message = Votre message
offline-send = Laisser un message
offline-stored = Merci. Nous vous répondrons à { $email }.
