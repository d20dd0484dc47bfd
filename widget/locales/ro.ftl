# Cuvintele widgetului în română.

## Înainte de chat.

launcher-label = Vorbiți cu noi
invitation =
    .aria-label = Invitație la chat
invitation-accept = Începeți chatul
invitation-decline = Nu, mulțumesc

## Antetul panoului.

status-connecting = Vă conectăm cu echipa noastră…
status-waiting = Se așteaptă un agent · cineva vă va răspunde în curând
status-waiting-position = Se așteaptă un agent · sunteți numărul { $position }
status-agent = { $name } este aici.
status-agent-unnamed = Un agent este aici.
status-offline = Vă vom răspunde aici.
status-ended = Acest chat s-a încheiat.
ended-title = Chat încheiat
minimise = Minimizați
    .aria-label = Minimizați chatul
end-chat = Încheiați chatul
close = Închideți
open-chat =
    { $count ->
        [0] Deschideți chatul
        [one] Deschideți chatul, { $count } mesaj nou
        [few] Deschideți chatul, { $count } mesaje noi
       *[other] Deschideți chatul, { $count } de mesaje noi
    }

## Încheierea unui chat.

end-question = Încheiați acest chat? Puteți începe altul mai târziu.
keep-chatting = Continuați conversația
thanks = Vă mulțumim că ați vorbit cu noi.
start-new-chat = Începeți un chat nou
ended-hint = Acest chat s-a încheiat. Închideți-l pentru a reveni la pagină.

## Conversația.

messages = Mesaje
new-message = Mesaj nou ↓
you = Dvs.
typing = { $name } scrie…
sending = Se trimite…
delivered = Livrat
composer = Scrieți mesajul
    .aria-label = Mesaj
send = Trimiteți
reconnecting = Se reconectează… Mesajele dvs. sunt păstrate și pleacă imediat ce revenim.

## Ce s-a întâmplat în conversație.

note-monitoring = Un supervizor urmărește conversația.
note-joined = Un supervizor s-a alăturat conversației.
note-left = Supervizorul a părăsit conversația.
note-force-closed = Un supervizor a încheiat această conversație.

## Când serverul refuză ceva.

error-rate-limited = Trimiteți mesaje foarte repede. Îl vom trimite pe al dvs. imediat.
error-too-long = Mesajul este prea lung. Scurtați-l și trimiteți-l din nou.
error-empty = Scrieți mai întâi un mesaj.
error-ended = Acest chat s-a încheiat.
error-other = Ne pare rău, ceva nu a funcționat la noi. Încercați din nou peste puțin timp.
error-offline-rate-limited = Ați trimis deja mai multe mesaje. Așteptați puțin înainte de a trimite altul.
error-offline-bad-request = Verificați numele, adresa de e-mail și mesajul.
error-offline-duplicate = Ați lăsat deja un mesaj pentru acest chat.

## Formularul de mesaj offline.

offline-name = Numele dvs. (opțional)
    .aria-label = Numele dvs.
offline-email = Adresa dvs. de e-mail
offline-message = Mesajul dvs.
offline-send = Lăsați un mesaj
offline-stored = Vă mulțumim. Vă vom scrie la { $email }.
