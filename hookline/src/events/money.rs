//! Amounts and currencies as payment systems use them: integers in minor
//! units and ISO 4217 codes, never floating point.

use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Active ISO 4217 currency codes.
const ISO_4217: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD \
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD \
HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD \
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG \
QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD \
TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

/// Every code [`Currency::parse`] accepts.
pub fn iso_4217_codes() -> impl Iterator<Item = &'static str> {
    ISO_4217.split_ascii_whitespace()
}

/// A checked ISO 4217 currency code such as `EUR`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Currency(String);

impl Currency {
    pub fn parse(code: &str) -> Result<Currency, String> {
        let well_formed = code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase());
        if well_formed && iso_4217_codes().any(|c| c == code) {
            Ok(Currency(code.to_owned()))
        } else {
            Err(format!(
                "`{}` is not an ISO 4217 currency code such as EUR or USD",
                crate::validation::excerpt(code)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Currency::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount in the currency's minor unit (cents for EUR, yen for JPY).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "runtime", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Money {
    pub value: i64,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies() {
        assert!(Currency::parse("EUR").is_ok());
        assert!(Currency::parse("JPY").is_ok());
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
        assert!(Currency::parse("XYZ").is_err());
        let err = serde_json::from_str::<Money>(r#"{"value": 10, "currency": "ABC"}"#).unwrap_err();
        assert!(err.to_string().contains("ISO 4217"));
        assert!(serde_json::from_str::<Money>(r#"{"value": 10.5, "currency": "EUR"}"#).is_err());
    }
}
